#!/usr/bin/env python3
"""Validate crit export files with nothing but the standard library.

Usage: check_exports.py [--format F] FILE...

Each FILE is JSON Lines as written by `crit export`. The format is taken
from --format, else from FILE.manifest.json next to it. Every line must be a
JSON object whose field names and types match the schema of its format
(no missing and no unexpected fields; `meta` is optional but checked when
present). Exits 1 with `file:line: message` on the first problems found.
"""

import json
import os
import sys

STR, INT, BOOL, NUM, NULL = "str", "int", "bool", "num", "null"

MESSAGE = {"role": STR, "content": STR}
MESSAGES = ["list", MESSAGE]
SPAN = {"start": INT, "end": INT}
SEVERITY = ("enum", "minor", "major", "critical")
SOURCE = {"format": STR, "file": STR, "line": INT, "detail?": (STR,)}

META = {
    "session": STR,
    "task": STR,
    "kind": ("enum", "verdict", "correction", "step", "critique", "user_critique", "check"),
    "evaluator": STR,
    "evaluators": ["list", STR],
    "seq": ["list", INT],
    "ts": ["list", STR],
    "arm": (STR, NULL),
    "phase": (("enum", "unaided", "assisted"), NULL),
    "assistance_seq": ["list", INT],
    "model_sha256": ["list", STR],
    "template_sha256": ["list", STR],
    "prompt_sha256": ["list", STR],
    "source": (SOURCE, NULL),
}

COMPLETION = {"text": STR, "rating": (INT, NULL), "flagged": BOOL}

SCHEMAS = {
    "trl-preference": {"prompt": STR, "chosen": STR, "rejected": STR},
    "trl-preference-conversational": {
        "prompt": MESSAGES,
        "chosen": MESSAGES,
        "rejected": MESSAGES,
    },
    "trl-kto": {"prompt": STR, "completion": STR, "label": BOOL},
    "reward": {"prompt": STR, "response": STR, "score": NUM, "confidence": (INT, NULL)},
    "trl-stepwise": {"prompt": STR, "completions": ["list", STR], "labels": ["list", BOOL]},
    "prm800k": {
        "labeler": STR,
        "timestamp": (STR, NULL),
        "generation": (INT, NULL),
        "is_quality_control_question": BOOL,
        "is_initial_screening_question": BOOL,
        "question": {"problem": STR, "ground_truth_answer": (STR, NULL)},
        "label": {
            "steps": [
                "list",
                {
                    "completions": ["list", COMPLETION],
                    "human_completion": (COMPLETION, NULL),
                    "chosen_completion": (INT, NULL),
                },
            ],
            "total_time": INT,
            "finish_reason": ("enum", "solution", "found_error", "give_up", "bad_problem"),
        },
    },
    "openai-sft": {"messages": MESSAGES},
    "openai-dpo": {
        "input": {"messages": MESSAGES},
        "preferred_output": MESSAGES,
        "non_preferred_output": MESSAGES,
    },
    "critiques": {
        "prompt": STR,
        "answer": STR,
        "quote": STR,
        "span": (SPAN, NULL),
        "comment": STR,
        "severity": SEVERITY,
        "category": STR,
        "source": ("enum", "assistant", "human"),
        "label": ("enum", "valid", "hallucinated", "nitpick"),
        "corrected_severity": (SEVERITY, NULL),
    },
    "hh-rlhf": {"chosen": STR, "rejected": STR},
}


MANIFEST = {
    "crit_version": STR,
    "format": STR,
    "created": STR,
    "output": (STR, NULL),
    "options": {"resolve": ("enum", "all", "latest", "majority"), "meta": BOOL,
                "conversational": BOOL, "normalize": BOOL},
    "filters": {"evaluators?": ["list", STR], "min_confidence?": INT, "arm?": STR,
                "since?": STR, "until?": STR, "kinds?": ["list", STR]},
    "sessions": ["list", {"name": STR, "path": STR, "events_sha256": STR,
                          "tasks_sha256": STR, "events": INT, "tasks": INT}],
    "counts": {"input_by_kind": ("map", INT), "records": INT, "by_kind": ("map", INT), "tasks_without_label": INT,
               "skipped": ("map", INT), "conflicts": INT, "ties": INT, "resolved_away": INT},
}


class Mismatch(Exception):
    pass


def type_ok(value, spec):
    if spec == STR:
        return isinstance(value, str)
    if spec == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if spec == BOOL:
        return isinstance(value, bool)
    if spec == NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec == NULL:
        return value is None
    raise ValueError(spec)


def check(value, spec, path):
    """Raise Mismatch naming the JSON path when value does not fit spec."""
    if isinstance(spec, str):
        if not type_ok(value, spec):
            raise Mismatch(f"{path}: expected {spec}, found {type(value).__name__} {value!r:.60}")
    elif isinstance(spec, tuple) and spec and spec[0] == "map":
        if not isinstance(value, dict):
            raise Mismatch(f"{path}: expected an object, found {type(value).__name__}")
        for k, v in value.items():
            check(v, spec[1], f"{path}.{k}")
    elif isinstance(spec, tuple) and spec and spec[0] == "enum":
        if value not in spec[1:]:
            raise Mismatch(f"{path}: expected one of {list(spec[1:])}, found {value!r:.60}")
    elif isinstance(spec, tuple):
        errors = []
        for alt in spec:
            try:
                check(value, alt, path)
                return
            except Mismatch as e:
                errors.append(str(e))
        raise Mismatch(" / ".join(errors))
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise Mismatch(f"{path}: expected a list, found {type(value).__name__}")
        for i, item in enumerate(value):
            check(item, spec[1], f"{path}[{i}]")
    elif isinstance(spec, dict):
        check_object(value, spec, path)
    else:
        raise ValueError(spec)


def check_object(value, spec, path):
    if not isinstance(value, dict):
        raise Mismatch(f"{path}: expected an object, found {type(value).__name__}")
    fields = {k.rstrip("?"): (k.endswith("?"), v) for k, v in spec.items()}
    for key in value:
        if key not in fields:
            raise Mismatch(f"{path}: unexpected field {key!r}")
    for key, (optional, sub) in fields.items():
        if key not in value:
            if optional:
                continue
            raise Mismatch(f"{path}: missing field {key!r}")
        check(value[key], sub, f"{path}.{key}")


def extra_rules(fmt, record):
    if fmt == "trl-stepwise" and len(record["completions"]) != len(record["labels"]):
        raise Mismatch("completions and labels differ in length")
    if fmt == "hh-rlhf":
        for key in ("chosen", "rejected"):
            if not record[key].startswith("\n\nHuman:") or "\n\nAssistant:" not in record[key]:
                raise Mismatch(f"$.{key}: not a \\n\\nHuman: ... \\n\\nAssistant: ... transcript")


def format_of(path, given):
    if given:
        return given
    manifest = path + ".manifest.json"
    if not os.path.exists(manifest):
        raise SystemExit(f"{path}: no --format given and no {manifest} to read it from")
    with open(manifest, encoding="utf-8") as f:
        m = json.load(f)
    fmt = m["format"]
    if fmt == "trl-preference" and m.get("options", {}).get("conversational"):
        fmt = "trl-preference-conversational"
    return fmt


def check_file(path, fmt):
    schema = SCHEMAS.get(fmt)
    if schema is None:
        raise SystemExit(f"{path}: unknown format {fmt!r} (known: {', '.join(SCHEMAS)})")
    schema = dict(schema, **{"meta?": META})
    problems, count = [], 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            count += 1
            try:
                record = json.loads(line)
                check_object(record, schema, "$")
                extra_rules(fmt, record)
            except (json.JSONDecodeError, Mismatch) as e:
                problems.append(f"{path}:{n}: {fmt}: {e}")
    return count, problems


def check_manifest(path, count):
    """The manifest next to an export: its schema, and its record count."""
    manifest = path + ".manifest.json"
    if not os.path.exists(manifest):
        return []
    try:
        with open(manifest, encoding="utf-8") as f:
            m = json.load(f)
        check_object(m, MANIFEST, "$")
    except (json.JSONDecodeError, Mismatch) as e:
        return [f"{manifest}: {e}"]
    if m["counts"]["records"] != count:
        return [f"{manifest}: counts.records is {m['counts']['records']} but {path} has {count} records"]
    return []


def main(argv):
    fmt = None
    files = []
    args = iter(argv)
    for a in args:
        if a == "--format":
            fmt = next(args, None)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(a)
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for path in files:
        f = format_of(path, fmt)
        count, problems = check_file(path, f)
        problems += check_manifest(path, count)
        for p in problems[:20]:
            print(p, file=sys.stderr)
        if problems:
            failed = True
            print(f"{path}: {len(problems)} of {count} records do not match the {f} schema", file=sys.stderr)
        else:
            print(f"{path}: {count} {f} records ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
