#!/usr/bin/env python3
"""Small stand-in for `crit eval-assist` (issue 10 §4) until it lands: reads
sessions written by `crit generate --kinds critique` and reports, with n and
bootstrap 95% CIs, the first-error hit rate (PRM800K rows whose last step is
the human-marked first wrong step), its exact random-segment baseline, false
alarms (a major/critical critique on an answer marked correct: GSM8K
is_correct, PRM800K all-positive, HaluEval "no") and the share of critiques
anchored. Usage: quality_measure.py SESSION_DIR...
"""
import json
import random
import sys


def load(session):
    tasks = {}
    for line in open(f"{session}/tasks.jsonl"):
        t = json.loads(line)
        tasks[t["id"]] = t
    out = {}
    for line in open(f"{session}/events.jsonl"):
        e = json.loads(line)
        if e.get("type") == "assistance" and e["output"]["kind"] == "critique":
            out[e["task"]] = e["output"]["critiques"]
    return tasks, out


def label(task):
    """('correct', None) | ('flawed', first_wrong_span) | ('flawed', None) | (None, None)"""
    m = task.get("meta", {})
    if "gsm8k" in m:
        return ("correct" if m["gsm8k"]["is_correct"] else "flawed"), None
    if "halueval" in m:
        return ("flawed" if m["halueval"]["hallucination"] == "yes" else "correct"), None
    if "prm800k" in m:
        r = m["prm800k"].get("ratings") or []
        if -1 in r:
            i = r.index(-1)
            steps = task.get("steps") or []
            return "flawed", (steps[i] if i < len(steps) else None)
        if all(x in (1, 0, None) for x in r):
            return "correct", None
    return None, None


def overlaps(a, b):
    return a and b and a["start"] < b["end"] and b["start"] < a["end"]


def ci(xs, reps=2000):
    if not xs:
        return (float("nan"),) * 3
    rng = random.Random(1)
    means = sorted(sum(rng.choice(xs) for _ in xs) / len(xs) for _ in range(reps))
    return sum(xs) / len(xs), means[int(0.025 * reps)], means[int(0.975 * reps)]


def fmt(name, xs):
    m, lo, hi = ci(xs)
    return f"{name}: {m:.0%} [{lo:.0%}, {hi:.0%}] (n={len(xs)})"


def main(sessions):
    hit_any, hit_top, base, alarms, anchored = [], [], [], [], []
    for s in sessions:
        tasks, crits = load(s)
        for tid, cs in crits.items():
            t = tasks[tid]
            kind, first = label(t)
            anchored += [1 if c.get("span") else 0 for c in cs]
            serious = [c for c in cs if c["severity"] in ("major", "critical")]
            if kind == "correct":
                alarms.append(1 if serious else 0)
            elif kind == "flawed" and first:
                hit_any.append(1 if any(overlaps(c.get("span"), first) for c in cs) else 0)
                hit_top.append(1 if cs and overlaps(cs[0].get("span"), first) else 0)
                # Exact random-segment baseline: PRM800K segments are its steps.
                base.append(1 / max(1, len(t.get("steps") or [])))
    print(fmt("first-error hit (any critique)", hit_any))
    print(fmt("first-error hit (top-1)", hit_top))
    print(f"random-segment baseline: {sum(base)/max(1,len(base)):.0%} (exact expectation, n={len(base)})")
    print(fmt("false alarms on correct answers", alarms))
    print(fmt("critiques anchored", anchored))


if __name__ == "__main__":
    main(sys.argv[1:])
