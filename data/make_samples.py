#!/usr/bin/env python3
"""Rebuild data/samples/* and data/demo.jsonl from ../shared/data (see data/README.md).

Run from the repository root: python3 data/make_samples.py [SHARED_DATA_DIR]
Records are copied verbatim (one JSON object per line); demo tasks are
converted to crit's native format with their origin in `meta.source`.
"""
import json
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
OUT = Path("data")


def rows(path):
    with open(SRC / path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def pick(path, key, values):
    by = {r[key]: r for r in rows(path)}
    return [by[v] for v in values]


def write(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


GSM = "gsm8k_model_solutions/example_model_solutions.jsonl"
PRM = "prm800k_phase1_test/trajectories.jsonl"
HH = "hh_rlhf_harmless_base_test/sample.jsonl"
HALU = "halueval_general/sample.jsonl"
MTB = "mt_bench"

# 134/695: a wrong 6B solution beside right ones; 0: curly quotes (U+2019).
write(OUT / "samples/gsm8k.jsonl", pick(GSM, "index", [0, 134, 695]))
# 0: an unrated (null) chosen step; 47: short; 83: a step with a newline inside.
write(OUT / "samples/prm800k.jsonl", pick(PRM, "problem_index", [0, 47, 83]))
# 1952: chosen and rejected differ before the final reply (two Assistant turns in a row).
write(OUT / "samples/hh-rlhf.jsonl", pick(HH, "source_line", [9, 648, 77, 1952]))
# 209, 2568: hallucinations (2568's spans include an annotator note); 0: a long "no".
write(OUT / "samples/halueval.jsonl", pick(HALU, "source_line", [0, 209, 2568, 2653]))

# MT-Bench: a writing question without reference, two with GPT-4 references.
QIDS = [81, 104, 120]
MODELS = ["alpaca-13b", "gpt-4", "vicuna-13b-v1.3"]
write(OUT / "samples/mt-bench/questions.jsonl", pick(f"{MTB}/questions.jsonl", "question_id", QIDS))
answers = [
    a for a in rows(f"{MTB}/model_answers.jsonl") if a["question_id"] in QIDS and a["model_id"] in MODELS
]
write(OUT / "samples/mt-bench/model_answers.jsonl", answers)
refs = [r for r in rows(f"{MTB}/reference_answers_gpt4.jsonl") if r["question_id"] in QIDS]
write(OUT / "samples/mt-bench/reference_answers_gpt4.jsonl", refs)
write(OUT / "samples/mt-bench-human.jsonl", rows(f"{MTB}/human_pairwise_llmbar.jsonl")[:4])


def demo():
    gsm = {r["index"]: r for r in rows(GSM)}
    out = []
    for idx, model in [(134, "6b_finetuning"), (695, "175b_verification")]:
        r = gsm[idx]
        out.append({
            "id": f"demo-gsm8k-{idx}-{model}",
            "prompt": r["question"],
            "answer": r[model]["solution"],
            "reference": r["ground_truth"],
            "meta": {"source": "gsm8k", "gsm8k": {"index": idx, "model": model,
                                                  "is_correct": r[model]["is_correct"]}},
        })
    h = {r["source_line"]: r for r in rows(HALU)}[209]
    out.append({
        "id": "demo-halueval-209",
        "prompt": h["user_query"],
        "answer": h["chatgpt_response"],
        "meta": {"source": "halueval", "halueval": {"hallucination": h["hallucination"],
                                                    "hallucination_spans": h["hallucination_spans"]}},
    })
    q = {r["question_id"]: r for r in rows(f"{MTB}/questions.jsonl")}[120]
    a = [a for a in rows(f"{MTB}/model_answers.jsonl") if a["question_id"] == 120 and a["model_id"] == "alpaca-13b"][0]
    ref = [r for r in rows(f"{MTB}/reference_answers_gpt4.jsonl") if r["question_id"] == 120][0]
    out.append({
        "id": "demo-mtb-120-alpaca-13b",
        "prompt": q["turns"][0],
        "answer": a["choices"][0]["turns"][0],
        "reference": ref["choices"][0]["turns"][0],
        "meta": {"source": "mt-bench", "mt_bench": {"question_id": 120, "model_id": "alpaca-13b"}},
    })
    hh = {r["source_line"]: r for r in rows(HH)}[9]
    turn = "\n\nAssistant:"
    prompt, chosen = hh["chosen"].rsplit(turn, 1)
    rejected = hh["rejected"].rsplit(turn, 1)[1]
    out.append({
        "id": "demo-hh-rlhf-9",
        "prompt": prompt.lstrip("\n"),
        "answer_a": rejected.removeprefix(" "),
        "answer_b": chosen.removeprefix(" "),
        "meta": {"source": "hh-rlhf", "hh_rlhf": {"chosen": "b", "source_line": 9}},
    })
    p = {r["problem_index"]: r for r in rows(PRM)}[47]
    texts = [s["completions"][s["chosen_completion"]]["text"] for s in p["steps"]]
    answer, steps = "", []
    for i, t in enumerate(texts):
        if i:
            answer += "\n"
        start = len(answer.encode())
        answer += t
        steps.append({"start": start, "end": len(answer.encode())})
    out.append({
        "id": "demo-prm800k-47",
        "prompt": p["problem"],
        "answer": answer,
        "steps": steps,
        "meta": {"source": "prm800k", "prm800k": {
            "problem_index": 47,
            "ratings": [s["completions"][s["chosen_completion"]]["rating"] for s in p["steps"]]}},
    })
    write(OUT / "demo.jsonl", out)


demo()
