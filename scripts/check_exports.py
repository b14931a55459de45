#!/usr/bin/env python3
"""Check crit export files for what trainers and validators need, with
nothing but the standard library.

Usage: check_exports.py [--format F] [--allow-consecutive] FILE...

Each FILE is JSON Lines as written by `crit export`. The format is taken
from --format, else from FILE.manifest.json next to it. Every line must:

- match its format's schema: field names and types, no missing and no
  unexpected fields (`meta` is checked when present; the OpenAI formats may
  not carry it, as OpenAI's validator rejects extra keys);
- plain-text formats (trl-preference, trl-kto, reward): follow TRL's
  plain-text convention so the tokenized prompt is a prefix of the
  tokenized prompt + reply: the prompt ends with the assistant's turn
  marker ("\\n\\nAssistant:") and every reply starts with a separator;
- conversational records (messages): roles alternate, the conversation
  starts with the user, a prompt ends with the user, a reply is one
  assistant message, an SFT conversation ends with the assistant
  (--allow-consecutive accepts adjacent turns of one role, for chat
  templates that do not require alternation);
- meta (inline or in FILE.meta.jsonl): no absolute paths.

The manifest must match its schema, its record count, and the sidecar's
line count. Exits 1 with `file:line: message` lines on problems, 2 on bad
usage.
"""

import json
import os
import re
import sys

STR, INT, BOOL, NUM, NULL = "str", "int", "bool", "num", "null"

ROLE = ("enum", "system", "user", "assistant")
MESSAGE = {"role": ROLE, "content": STR}
MESSAGES = ["list", MESSAGE]
TEXT = (STR, MESSAGES)
SPAN = {"start": INT, "end": INT}
SEVERITY = ("enum", "minor", "major", "critical")
SOURCE = {"format": STR, "file": STR, "line": INT, "detail?": STR, "sha256?": STR, "path?": STR}
KINDS = ("enum", "verdict", "correction", "step", "critique", "user_critique", "check")

META = {
    "session": STR,
    "task": STR,
    "kind": (KINDS, NULL),
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
    "trl-preference": {"prompt": TEXT, "chosen": TEXT, "rejected": TEXT},
    "trl-kto": {"prompt": TEXT, "completion": TEXT, "label": BOOL},
    "reward": {"prompt": TEXT, "response": TEXT, "score": NUM, "confidence": (INT, NULL)},
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

# Formats whose consumers reject keys they do not document.
STRICT_KEYS = ("openai-sft", "openai-dpo")

# Plain-text prompt/reply fields.
PLAIN = {
    "trl-preference": ("prompt", ("chosen", "rejected")),
    "trl-kto": ("prompt", ("completion",)),
    "reward": ("prompt", ("response",)),
}
PROMPT_END = "\n\nAssistant:"

MANIFEST = {
    "crit_version": STR,
    "format": ("enum", *SCHEMAS),
    "created": STR,
    "output": (STR, NULL),
    "meta_output": (STR, NULL),
    "options": {"resolve": ("enum", "all", "latest", "majority"),
                "meta": ("enum", "inline", "sidecar", "none"),
                "conversational": BOOL, "normalize": BOOL, "merge_consecutive": BOOL},
    "filters": {"evaluators?": ["list", STR], "min_confidence?": INT, "arm?": STR,
                "since?": STR, "until?": STR, "kinds?": ["list", KINDS]},
    "sessions": ["list", {"name": STR, "path": STR, "events_sha256": STR,
                          "tasks_sha256": STR, "events": INT, "tasks": INT}],
    "counts": {"input_by_kind": ("map", INT), "records": INT, "by_kind": ("map", INT),
               "tasks_without_label": INT, "skipped": ("map", INT), "conflicts": INT,
               "ties": INT, "resolved_away": INT, "consecutive_turns": INT},
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


def check_plain(fmt, record):
    """TRL's plain-text convention: the boundary falls between the prompt's
    turn marker and the reply's separator, so tokenizing the prompt alone
    gives a prefix of tokenizing prompt + reply."""
    prompt_key, reply_keys = PLAIN[fmt]
    prompt = record[prompt_key]
    if not isinstance(prompt, str):
        return
    if not prompt.endswith(PROMPT_END):
        raise Mismatch(f"$.{prompt_key}: does not end with the assistant's turn marker {PROMPT_END!r}")
    for key in reply_keys:
        reply = record[key]
        if not isinstance(reply, str):
            raise Mismatch(f"$.{key}: plain prompt with a message-list reply")
        if not reply[:1].isspace() or not reply.strip():
            raise Mismatch(f"$.{key}: does not start with a separator after the prompt "
                           "(the tokenized prompt would not be a prefix of prompt + reply)")


def roles(messages):
    return [m["role"] for m in messages]


def alternation(path, rs, first, last, allow):
    """First and last role as required; adjacent roles differ unless allowed.
    Returns 1 when adjacent turns of one role were accepted, else 0."""
    rs = [r for r in rs if r != "system"] if rs[:1] == ["system"] else rs
    if not rs:
        raise Mismatch(f"{path}: no messages")
    if first and rs[0] != first:
        raise Mismatch(f"{path}: must start with the {first}, starts with the {rs[0]}")
    if last and rs[-1] != last:
        raise Mismatch(f"{path}: must end with the {last}, ends with the {rs[-1]}")
    for i in range(1, len(rs)):
        if rs[i] == rs[i - 1]:
            if allow:
                return 1
            raise Mismatch(f"{path}: two {rs[i]} turns in a row (messages {i - 1} and {i}); "
                           "chat templates that need alternating roles reject this: export "
                           "with --merge-consecutive, or pass --allow-consecutive")
    return 0


def one_assistant(path, messages):
    if roles(messages) != ["assistant"]:
        raise Mismatch(f"{path}: must be exactly one assistant message, found roles {roles(messages)}")


def check_dialogue(fmt, record, allow):
    """Conversational records: roles alternate and end where the format
    requires. Returns the number of accepted consecutive-turn records."""
    if fmt == "openai-sft":
        return alternation("$.messages", roles(record["messages"]), "user", "assistant", allow)
    if fmt == "openai-dpo":
        one_assistant("$.preferred_output", record["preferred_output"])
        one_assistant("$.non_preferred_output", record["non_preferred_output"])
        return alternation("$.input.messages", roles(record["input"]["messages"]), "user", "user", allow)
    if fmt in PLAIN:
        prompt_key, reply_keys = PLAIN[fmt]
        if not isinstance(record[prompt_key], list):
            return 0
        for key in reply_keys:
            if not isinstance(record[key], list):
                raise Mismatch(f"$.{key}: message-list prompt with a plain reply")
            one_assistant(f"$.{key}", record[key])
        return alternation(f"$.{prompt_key}", roles(record[prompt_key]), "user", "user", allow)
    return 0


def extra_rules(fmt, record):
    if fmt == "trl-stepwise":
        if len(record["completions"]) != len(record["labels"]):
            raise Mismatch("completions and labels differ in length")
        if not record["completions"]:
            raise Mismatch("$.completions: no steps")
    if fmt == "hh-rlhf":
        for key in ("chosen", "rejected"):
            if not record[key].startswith("\n\nHuman: ") or "\n\nAssistant: " not in record[key]:
                raise Mismatch(f"$.{key}: not a \\n\\nHuman: ... \\n\\nAssistant: ... transcript")


ABSOLUTE = re.compile(r"^(/|[A-Za-z]:[\\/]|\\\\)")


def no_absolute_paths(value, path):
    if isinstance(value, str):
        if ABSOLUTE.match(value):
            raise Mismatch(f"{path}: absolute path {value!r:.80} (exports name files, not paths)")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_absolute_paths(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            no_absolute_paths(v, f"{path}.{k}")


def check_meta(meta, path):
    check(meta, META, path)
    no_absolute_paths(meta, path)


def read_manifest(path):
    manifest = path + ".manifest.json"
    if not os.path.exists(manifest):
        return None
    with open(manifest, encoding="utf-8") as f:
        return json.load(f)


def format_of(path, given, manifest):
    if given:
        return given
    if manifest is None:
        raise SystemExit(f"{path}: no --format given and no {path}.manifest.json to read it from")
    return manifest["format"]


def check_record(fmt, record, allow):
    schema = SCHEMAS[fmt]
    if fmt not in STRICT_KEYS:
        schema = dict(schema, **{"meta?": META})
    elif "meta" in record:
        raise Mismatch("$: unexpected field 'meta' (OpenAI's validator rejects extra keys; "
                       "export with --meta sidecar)")
    check_object(record, schema, "$")
    extra_rules(fmt, record)
    if fmt in PLAIN:
        check_plain(fmt, record)
    if "meta" in record:
        check_meta(record["meta"], "$.meta")
    return check_dialogue(fmt, record, allow)


def check_file(path, fmt, allow):
    if fmt not in SCHEMAS:
        raise SystemExit(f"{path}: unknown format {fmt!r} (known: {', '.join(SCHEMAS)})")
    problems, count, consecutive = [], 0, 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            count += 1
            try:
                consecutive += check_record(fmt, json.loads(line), allow)
            except (json.JSONDecodeError, Mismatch) as e:
                problems.append(f"{path}:{n}: {fmt}: {e}")
    return count, consecutive, problems


def check_sidecar(path, count):
    """FILE.meta.jsonl: one meta per record, same order."""
    sidecar = path + ".meta.jsonl"
    problems, lines = [], 0
    with open(sidecar, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            lines += 1
            try:
                check_meta(json.loads(line), "$")
            except (json.JSONDecodeError, Mismatch) as e:
                problems.append(f"{sidecar}:{n}: meta: {e}")
    if lines != count:
        problems.append(f"{sidecar}: {lines} lines but {path} has {count} records")
    return problems


def check_manifest(path, m, count):
    """The manifest next to an export: its schema, its counts, its sidecar."""
    if m is None:
        return []
    manifest = path + ".manifest.json"
    try:
        check_object(m, MANIFEST, "$")
    except Mismatch as e:
        return [f"{manifest}: {e}"]
    problems = []
    if m["counts"]["records"] != count:
        problems.append(f"{manifest}: counts.records is {m['counts']['records']} but {path} has {count} records")
    if m["options"]["meta"] == "sidecar":
        problems += check_sidecar(path, count)
    return problems


def main(argv):
    fmt, allow, files = None, False, []
    args = iter(argv)
    for a in args:
        if a == "--format":
            fmt = next(args, None)
        elif a == "--allow-consecutive":
            allow = True
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
        base = path[: -len(".meta.jsonl")] if path.endswith(".meta.jsonl") else None
        if base and os.path.exists(base):
            if base not in files:
                files.append(base)
            continue  # a meta sidecar is checked with its export
        try:
            manifest = read_manifest(path)
        except json.JSONDecodeError as e:
            print(f"{path}.manifest.json: {e}", file=sys.stderr)
            failed = True
            continue
        f = format_of(path, fmt, manifest)
        count, consecutive, problems = check_file(path, f, allow)
        problems += check_manifest(path, manifest, count)
        for p in problems[:20]:
            print(p, file=sys.stderr)
        if problems:
            failed = True
            print(f"{path}: {len(problems)} problem(s) in {count} {f} records", file=sys.stderr)
        else:
            note = f" ({consecutive} with adjacent turns of one role)" if consecutive else ""
            print(f"{path}: {count} {f} records ok{note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
