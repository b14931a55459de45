//! Task readers on the bundled samples and malformed fixtures (library level).

use crit::session::event::Side;
use crit::task::{
    self, gsm8k, halueval, hh_rlhf, mt_bench, native, prm800k, Format, Loaded, Task, TaskError,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> PathBuf {
    root().join("data/samples").join(name)
}

fn bad(name: &str) -> PathBuf {
    root().join("tests/fixtures/bad").join(name)
}

fn load_ok(path: &Path) -> Loaded {
    task::load(path, None, false).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn raw_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(loaded: &Loaded) -> Vec<&str> {
    loaded.tasks.iter().map(|t| t.id.as_str()).collect()
}

/// Every step span slices the answer into exactly `texts`, joined by "\n".
fn assert_steps(task: &Task, texts: &[&str]) {
    let spans = task.steps.as_ref().expect("steps");
    assert_eq!(spans.len(), texts.len(), "{}", task.id);
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(task.step_text(i), Some(*text), "{} step {i}", task.id);
    }
    assert_eq!(task.answer, texts.join("\n"), "{}", task.id);
}

// ---- readers on the samples ----

#[test]
fn gsm8k_sample_gives_one_task_per_model_solution() {
    let path = sample("gsm8k.jsonl");
    let loaded = load_ok(&path);
    assert_eq!(loaded.format, Some(Format::Gsm8k));
    assert_eq!(loaded.tasks.len(), 12);
    assert_eq!(loaded.tasks[0].id, "gsm8k-0-175b_finetuning");
    assert_eq!(loaded.lines[..4], [1, 1, 1, 1]);
    let raw = &raw_lines(&path)[1];
    let t = loaded
        .tasks
        .iter()
        .find(|t| t.id == "gsm8k-134-6b_finetuning")
        .unwrap();
    assert_eq!(t.prompt, raw["question"].as_str().unwrap());
    assert_eq!(t.answer, raw["6b_finetuning"]["solution"].as_str().unwrap());
    assert_eq!(t.reference.as_deref(), raw["ground_truth"].as_str());
    assert!(!t.is_pairwise());
    assert_eq!(gsm8k::is_correct(t), Some(false));
    assert_eq!(gsm8k::model(t), Some("6b_finetuning"));
    assert_eq!(gsm8k::problem_index(t), Some(134));
    // U+2019 in the question of problem 0 survives.
    assert!(loaded.tasks[0].prompt.contains('’'));
}

#[test]
fn prm800k_sample_keeps_step_boundaries_and_ratings() {
    let path = sample("prm800k.jsonl");
    let loaded = load_ok(&path);
    assert_eq!(loaded.format, Some(Format::Prm800k));
    assert_eq!(ids(&loaded), ["prm800k-0", "prm800k-47", "prm800k-83"]);
    for (t, raw) in loaded.tasks.iter().zip(raw_lines(&path)) {
        let chosen: Vec<&str> = raw["chosen_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_steps(t, &chosen);
        assert_eq!(t.prompt, raw["problem"].as_str().unwrap());
        assert_eq!(prm800k::ratings(t).unwrap().len(), chosen.len());
        assert_eq!(prm800k::final_answer(t), raw["final_answer"].as_str());
        // All candidates and their ratings are kept, verbatim.
        assert_eq!(t.meta["prm800k"]["steps"], raw["steps"]);
        let steps = prm800k::steps(t).unwrap();
        assert_eq!(steps.len(), raw["steps"].as_array().unwrap().len());
        assert_eq!(steps[0].chosen().unwrap().text, chosen[0]);
    }
    let t0 = &loaded.tasks[0];
    assert_eq!(
        prm800k::ratings(t0).unwrap(),
        [Some(1), None, Some(1), Some(1), Some(1), Some(1)]
    );
    assert_eq!(prm800k::problem_index(t0), Some(0));
    // Problem 83 has a step with a newline inside: boundaries still exact.
    let t83 = &loaded.tasks[2];
    let spans = t83.steps.as_ref().unwrap();
    assert!(spans
        .iter()
        .any(|s| t83.answer[s.start..s.end].contains('\n')));
    // Rejected alternatives with -1 are kept for export.
    let steps = prm800k::steps(t0).unwrap();
    assert!(steps[1].completions.iter().any(|c| c.rating == Some(-1)));
}

#[test]
fn prm800k_openai_layout_reads_human_steps_and_finish_reason() {
    let path = root().join("tests/fixtures/prm800k_openai_layout.jsonl");
    let loaded = task::load(&path, Some(Format::Prm800k), false).unwrap();
    let t = &loaded.tasks[0];
    assert_eq!(t.id, "prm800k-0");
    assert_eq!(t.reference.as_deref(), Some("29"));
    assert_eq!(prm800k::finish_reason(t), Some("found_error"));
    assert_eq!(
        t.step_text(1),
        Some("In cents: 3p+e=124 and 5p+e=182."),
        "a human-written step continues the solution"
    );
    let ratings = prm800k::ratings(t).unwrap();
    assert_eq!(ratings.len(), 7, "the final found_error step adds no text");
    assert_eq!(ratings[1], None);
    assert_eq!(prm800k::steps(t).unwrap().len(), 8);
    assert!(!t.answer.contains("30 cents"));
    assert_eq!(t.meta["prm800k"]["question"]["ground_truth_answer"], "29");
}

#[test]
fn mt_bench_questions_join_answers_and_references() {
    let path = sample("mt-bench/questions.jsonl");
    let loaded = load_ok(&path);
    assert_eq!(loaded.format, Some(Format::MtBench));
    assert_eq!(
        ids(&loaded),
        [
            "mtb-81-alpaca-13b",
            "mtb-81-gpt-4",
            "mtb-81-vicuna-13b-v1.3",
            "mtb-104-alpaca-13b",
            "mtb-104-gpt-4",
            "mtb-104-vicuna-13b-v1.3",
            "mtb-120-alpaca-13b",
            "mtb-120-gpt-4",
            "mtb-120-vicuna-13b-v1.3",
        ]
    );
    assert_eq!(loaded.lines, [1, 1, 1, 2, 2, 2, 3, 3, 3]);
    let questions = raw_lines(&path);
    let refs = raw_lines(&sample("mt-bench/reference_answers_gpt4.jsonl"));
    let t = &loaded.tasks[6];
    assert_eq!(t.prompt, questions[2]["turns"][0].as_str().unwrap());
    assert_eq!(t.answer, "The value of f(2) is 11.");
    let ref120 = refs.iter().find(|r| r["question_id"] == 120).unwrap();
    assert_eq!(
        t.reference.as_deref(),
        ref120["choices"][0]["turns"][0].as_str()
    );
    assert_eq!(loaded.tasks[0].reference, None, "writing has no reference");
    assert_eq!(mt_bench::question_id(t), Some(120));
    assert_eq!(mt_bench::model_id(t), Some("alpaca-13b"));
    assert_eq!(mt_bench::category(t), Some("math"));
    assert_eq!(mt_bench::human_label(t), None);
}

#[test]
fn mt_bench_human_pairs_are_pairwise_with_labels() {
    let path = sample("mt-bench-human.jsonl");
    let loaded = load_ok(&path);
    assert_eq!(loaded.format, Some(Format::MtBench));
    assert_eq!(
        ids(&loaded),
        ["mtb-human-0", "mtb-human-1", "mtb-human-2", "mtb-human-3"]
    );
    for (t, raw) in loaded.tasks.iter().zip(raw_lines(&path)) {
        assert_eq!(t.prompt, raw["input"].as_str().unwrap());
        assert_eq!(t.answer, raw["output_1"].as_str().unwrap());
        assert_eq!(t.answer_b.as_deref(), raw["output_2"].as_str());
        let want = if raw["label"] == 1 { Side::A } else { Side::B };
        assert_eq!(mt_bench::human_label(t), Some(want));
        assert_eq!(mt_bench::question_id(t), raw["question_id"].as_i64());
        assert_eq!(t.meta["mt_bench_human"]["turn"], 1);
    }
}

#[test]
fn mt_bench_answers_file_points_to_questions() {
    let err = task::load(&sample("mt-bench/model_answers.jsonl"), None, false).unwrap_err();
    assert!(err.to_string().contains("pass the questions file"), "{err}");
}

#[test]
fn hh_rlhf_sample_is_pairwise_in_hashed_order() {
    let path = sample("hh-rlhf.jsonl");
    let loaded = load_ok(&path);
    assert_eq!(loaded.format, Some(Format::HhRlhf));
    assert_eq!(
        ids(&loaded),
        ["hh-rlhf-9", "hh-rlhf-648", "hh-rlhf-77", "hh-rlhf-1952"]
    );
    let mut sides = Vec::new();
    for (t, raw) in loaded.tasks.iter().zip(raw_lines(&path)) {
        let chosen = raw["chosen"].as_str().unwrap();
        let rejected = raw["rejected"].as_str().unwrap();
        let (c, r) = hh_rlhf::chosen_and_rejected(t).unwrap();
        assert!(chosen.ends_with(&format!("Assistant: {c}")), "{}", t.id);
        assert!(rejected.ends_with(&format!("Assistant: {r}")), "{}", t.id);
        assert!(t.prompt.starts_with("Human: "), "{}", t.id);
        assert!(chosen.contains(&t.prompt), "prompt is the chosen prefix");
        assert_eq!(hh_rlhf::source_line(t), raw["source_line"].as_i64());
        sides.push(hh_rlhf::chosen_side(t).unwrap());
    }
    assert!(
        sides.contains(&Side::A) && sides.contains(&Side::B),
        "{sides:?}"
    );
    assert!(hh_rlhf::prefix_mismatch(&loaded.tasks[3]));
    assert!(!hh_rlhf::prefix_mismatch(&loaded.tasks[0]));
    // Same order on every read.
    let again = load_ok(&path);
    assert_eq!(again.tasks, loaded.tasks);
}

#[test]
fn hh_rlhf_prompt_keeps_the_whole_conversation() {
    let loaded = load_ok(&sample("hh-rlhf.jsonl"));
    let t = &loaded.tasks[2]; // source line 77: several turns
    assert!(t.prompt.matches("Human:").count() >= 3);
    assert!(t.prompt.ends_with("Human: at home"), "{:?}", t.prompt);
}

#[test]
fn halueval_sample_keeps_the_human_label() {
    let path = sample("halueval.jsonl");
    let loaded = load_ok(&path);
    assert_eq!(loaded.format, Some(Format::Halueval));
    assert_eq!(
        ids(&loaded),
        [
            "halueval-0",
            "halueval-209",
            "halueval-2568",
            "halueval-2653"
        ]
    );
    for (t, raw) in loaded.tasks.iter().zip(raw_lines(&path)) {
        assert_eq!(t.prompt, raw["user_query"].as_str().unwrap());
        assert_eq!(t.answer, raw["chatgpt_response"].as_str().unwrap());
        assert_eq!(
            halueval::hallucination(t),
            Some(raw["hallucination"] == "yes")
        );
        assert_eq!(
            halueval::hallucination_spans(t).unwrap().len(),
            raw["hallucination_spans"].as_array().unwrap().len()
        );
    }
    assert_eq!(
        halueval::hallucination_spans(&loaded.tasks[1]).unwrap(),
        [" One example is 1,111,110"]
    );
    assert_eq!(halueval::source_line(&loaded.tasks[1]), Some(209));
}

#[test]
fn demo_tasks_load_with_steps() {
    let loaded = load_ok(&root().join("data/demo.jsonl"));
    assert_eq!(loaded.format, Some(Format::Native));
    assert_eq!(loaded.tasks.len(), 6);
    assert_eq!(loaded.tasks.iter().filter(|t| t.is_pairwise()).count(), 1);
    let prm = loaded.tasks.iter().find(|t| t.steps.is_some()).unwrap();
    assert_eq!(
        prm.step_text(0),
        Some("$99^2+99=100*99$ and this is easy to calculate.")
    );
    for t in &loaded.tasks {
        assert!(t.answer.len() < 400, "{}: demo answers stay short", t.id);
    }
}

// ---- detection ----

#[test]
fn detection_picks_each_sample_format() {
    let cases = [
        ("gsm8k.jsonl", Format::Gsm8k),
        ("prm800k.jsonl", Format::Prm800k),
        ("mt-bench/questions.jsonl", Format::MtBench),
        ("mt-bench-human.jsonl", Format::MtBench),
        ("hh-rlhf.jsonl", Format::HhRlhf),
        ("halueval.jsonl", Format::Halueval),
    ];
    for (file, want) in cases {
        assert_eq!(task::detect(&sample(file)).unwrap(), want, "{file}");
    }
    assert_eq!(
        task::detect(&root().join("data/demo.jsonl")).unwrap(),
        Format::Native
    );
    assert_eq!(
        task::detect(&root().join("tests/fixtures/prm800k_openai_layout.jsonl")).unwrap(),
        Format::Prm800k
    );
}

#[test]
fn detection_skips_leading_bad_lines_and_reports_native_with_missing_fields() {
    // The first line is invalid JSON, the second decides.
    assert_eq!(task::detect(&bad("many.jsonl")).unwrap(), Format::Native);
}

#[test]
fn unrecognized_format_names_keys_and_formats() {
    let path = bad("unrecognized.jsonl");
    let err = task::load(&path, None, false).unwrap_err();
    assert!(matches!(err, TaskError::Unrecognized { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: cannot tell the task format: the first record has keys [\"task_id\", \"text\"], \
             which match none of the known formats; pass --format with one of: native, gsm8k, \
             prm800k, mt-bench, hh-rlhf, halueval",
            path.display()
        )
    );
}

#[test]
fn format_flag_overrides_detection() {
    let path = sample("halueval.jsonl");
    let err = task::load(&path, Some(Format::HhRlhf), false).unwrap_err();
    let TaskError::Invalid { errors, total } = err else {
        panic!("expected line errors")
    };
    assert_eq!(total, 4);
    assert_eq!(errors[0].message, "missing field \"chosen\"");
}

// ---- bad input ----

/// Load without skipping and return the rendered `file:line: message`s.
fn bad_lines(name: &str) -> Vec<String> {
    let path = bad(name);
    match task::load(&path, None, false) {
        Err(TaskError::Invalid { errors, .. }) => errors.iter().map(|e| e.to_string()).collect(),
        other => panic!("{name}: expected line errors, got {other:?}"),
    }
}

fn at(name: &str, line: usize, message: &str) -> String {
    format!("{}:{line}: {message}", bad(name).display())
}

#[test]
fn each_malformed_file_reports_file_line_message() {
    let cases: &[(&str, usize, &str)] = &[
        ("missing_field.jsonl", 2, "missing field \"prompt\""),
        (
            "wrong_type.jsonl",
            2,
            "field \"answer\" must be a string, found a number",
        ),
        (
            "invalid_json.jsonl",
            2,
            "invalid JSON at column 48: EOF while parsing an object",
        ),
        ("invalid_utf8.jsonl", 2, "invalid UTF-8 at byte 24"),
        (
            "empty_answer.jsonl",
            2,
            "empty answer (field \"answer\" is blank)",
        ),
        (
            "duplicate_id.jsonl",
            3,
            "duplicate id \"t1\" (first seen on line 1)",
        ),
        (
            "not_object.jsonl",
            2,
            "expected a JSON object, found an array",
        ),
    ];
    for (file, line, message) in cases {
        assert_eq!(bad_lines(file), [at(file, *line, message)], "{file}");
    }
}

#[test]
fn all_bad_lines_are_collected_not_just_the_first() {
    let f = "many.jsonl";
    assert_eq!(
        bad_lines(f),
        [
            at(f, 2, "invalid JSON at column 2: key must be a string"),
            at(f, 3, "missing field \"answer\""),
            at(f, 6, "field \"answer\" must be a string, found an array"),
            at(f, 7, "empty answer (field \"answer\" is blank)"),
            at(f, 8, "duplicate id \"t2\" (first seen on line 5)"),
            at(f, 9, "expected a JSON object, found a number"),
        ]
    );
    let err = task::load(&bad(f), None, false).unwrap_err().to_string();
    assert!(err.ends_with(
        "6 of 8 records are invalid; nothing was imported (use --skip-invalid to import the rest)"
    ));
}

#[test]
fn skip_invalid_returns_good_tasks_and_skipped_lines() {
    let loaded = task::load(&bad("many.jsonl"), None, true).unwrap();
    assert_eq!(ids(&loaded), ["t1", "t2"]);
    assert_eq!(loaded.lines, [1, 5]);
    let lines: Vec<usize> = loaded.skipped.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 6, 7, 8, 9]);
}

#[test]
fn duplicate_ids_keep_the_first() {
    let loaded = task::load(&bad("duplicate_id.jsonl"), None, true).unwrap();
    assert_eq!(ids(&loaded), ["t1", "t2"]);
    assert_eq!(loaded.tasks[0].answer, "4");
    assert_eq!(loaded.skipped.len(), 1);
}

#[test]
fn empty_and_blank_files_are_a_clear_error() {
    for name in ["empty.jsonl", "blank.jsonl"] {
        let path = bad(name);
        let err = task::load(&path, None, false).unwrap_err();
        assert!(matches!(err, TaskError::Empty { .. }), "{name}: {err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: the file is empty (no JSON lines, so no tasks)",
                path.display()
            )
        );
        // Also with an explicit format.
        let err = task::load(&path, Some(Format::Gsm8k), true).unwrap_err();
        assert!(matches!(err, TaskError::Empty { .. }));
    }
}

/// A missing file or a directory is the user's input (exit 2), said once.
#[test]
fn missing_file_or_directory_is_bad_input() {
    let err = task::load(&bad("no-such-file.jsonl"), None, false).unwrap_err();
    assert!(matches!(err, TaskError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("no-such-file.jsonl: no such file"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = task::load(dir.path(), None, false).unwrap_err();
    assert!(matches!(err, TaskError::IsDirectory { .. }), "{err:?}");
}

#[test]
fn native_step_spans_are_checked_against_the_answer() {
    let f = "bad_steps.jsonl";
    assert_eq!(
        bad_lines(f),
        [
            at(f, 1, "steps[0] = 0..2 splits a character"),
            at(f, 2, "steps[0] = 0..9 is outside the answer (3 bytes)"),
        ]
    );
}

#[test]
fn format_readers_report_their_own_bad_lines() {
    let cases: &[(&str, &[(usize, &str)])] = &[
        (
            "gsm8k.jsonl",
            &[
                (1, "field \"6b.is_correct\" must be a boolean, found a string"),
                (2, "no model solutions: expected fields like \"6b_finetuning\": {\"solution\", \"is_correct\"}"),
                (3, "empty answer (field \"6b.solution\" is blank)"),
            ],
        ),
        (
            "halueval.jsonl",
            &[
                (1, "field \"hallucination\" must be \"yes\" or \"no\", found \"maybe\""),
                (2, "field \"hallucination_spans[0]\" must be a string, found a number"),
                (3, "missing field \"chatgpt_response\""),
            ],
        ),
        (
            "hh-rlhf.jsonl",
            &[
                (1, "field \"rejected\" has no \"\\n\\nAssistant:\" turn (expected an HH-RLHF transcript)"),
                (2, "empty answer (the final assistant reply in \"chosen\" is blank)"),
                (3, "field \"rejected\" must be a string, found a number"),
            ],
        ),
        (
            "prm800k.jsonl",
            &[
                (1, "field \"steps[0].completions[0].rating\" must be -1, 0, 1 or null, found 2"),
                (2, "field \"steps[0].chosen_completion\" is 3, but the step has only 1 completion(s)"),
                (3, "steps[0] has no chosen completion but steps[1] does"),
                (4, "empty answer (no step has a chosen completion)"),
                (5, "missing field \"steps[0].completions[0].text\""),
            ],
        ),
    ];
    for (file, want) in cases {
        let want: Vec<String> = want.iter().map(|(l, m)| at(file, *l, m)).collect();
        assert_eq!(bad_lines(file), want, "{file}");
    }
}

#[test]
fn mt_bench_reports_bad_lines_in_questions_and_answers() {
    let q = bad("mt-bench/questions.jsonl");
    let a = bad("mt-bench/model_answers.jsonl");
    let loaded = task::load(&q, None, true).unwrap();
    assert_eq!(ids(&loaded), ["mtb-1-m1"]);
    assert_eq!(
        loaded.tasks[0].answer, "2",
        "the first of duplicate answers wins"
    );
    let got: Vec<String> = loaded.skipped.iter().map(|e| e.to_string()).collect();
    let line = |p: &Path, n: usize, m: &str| format!("{}:{n}: {m}", p.display());
    assert_eq!(
        got,
        [
            line(&q, 2, "field \"turns\" is an empty list"),
            line(&q, 3, "duplicate question_id 1 (first seen on line 1)"),
            line(&a, 2, "question_id 9 is not in the questions file"),
            line(
                &a,
                3,
                "empty answer (field \"choices[0].turns[0]\" is blank)"
            ),
            line(
                &a,
                4,
                "duplicate answer of model \"m1\" to question 1 (first seen on line 1)"
            ),
        ]
    );
}

#[test]
fn mt_bench_questions_without_answers_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("questions.jsonl");
    std::fs::write(&q, "{\"question_id\": 1, \"turns\": [\"hi\"]}\n").unwrap();
    let err = task::load(&q, None, false).unwrap_err().to_string();
    assert!(err.contains("model_answers.jsonl"), "{err}");
    assert!(err.contains("model_answer/*.jsonl"), "{err}");
}

#[test]
fn mt_bench_reads_fastchat_per_model_answer_dir() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("question.jsonl");
    std::fs::write(
        &q,
        "{\"question_id\": 1, \"turns\": [\"hi\", \"again\"], \"reference\": [\"hello\"]}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("model_answer")).unwrap();
    for m in ["b-model", "a-model"] {
        let line = format!(
            "{{\"question_id\": 1, \"model_id\": \"{m}\", \"choices\": [{{\"index\": 0, \"turns\": [\"hey from {m}\"]}}]}}\n"
        );
        std::fs::write(dir.path().join(format!("model_answer/{m}.jsonl")), line).unwrap();
    }
    let loaded = task::load(&q, None, false).unwrap();
    assert_eq!(ids(&loaded), ["mtb-1-a-model", "mtb-1-b-model"]);
    assert_eq!(loaded.tasks[0].reference.as_deref(), Some("hello"));
}

// ---- content preserved verbatim ----

#[test]
fn escape_sequences_in_answers_load_verbatim() {
    let loaded = load_ok(&bad("escape.jsonl"));
    let t = &loaded.tasks[0];
    assert_eq!(
        t.answer,
        "\u{1b}[31mred\u{1b}[0m and a bell \u{7} and \u{9b}2J"
    );
    // And survive the native round trip used for session snapshots.
    let line = native::to_native_line(t);
    let back = native::parse_native(&serde_json::from_str(&line).unwrap()).unwrap();
    assert_eq!(&back, t);
}

#[test]
fn error_messages_never_carry_raw_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    std::fs::write(
        &path,
        "{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"x\", \"steps\": \"\\u001b[2J\"}\n",
    )
    .unwrap();
    let err = task::load(&path, None, false).unwrap_err().to_string();
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn every_reader_round_trips_through_native() {
    let files = [
        "gsm8k.jsonl",
        "prm800k.jsonl",
        "mt-bench/questions.jsonl",
        "mt-bench-human.jsonl",
        "hh-rlhf.jsonl",
        "halueval.jsonl",
    ];
    for file in files {
        for t in load_ok(&sample(file)).tasks {
            let line = native::to_native_line(&t);
            let back = native::parse_native(&serde_json::from_str(&line).unwrap()).unwrap();
            assert_eq!(back, t, "{file}");
            // Accessors work on the snapshot copy too (the importer reads those).
            assert_eq!(prm800k::ratings(&back), prm800k::ratings(&t));
        }
    }
}

#[test]
fn huge_answers_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let answer = "step. ".repeat(2_000_000); // 12 MB on one line
    let line = serde_json::json!({"id": "big", "prompt": "p", "answer": answer}).to_string();
    std::fs::write(&path, format!("{line}\n{line}\n")).unwrap();
    let loaded = task::load(&path, None, true).unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].answer.len(), answer.len());
    assert_eq!(loaded.skipped.len(), 1, "the second copy is a duplicate id");
}

#[test]
fn crlf_and_bom_are_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("win.jsonl");
    let text = "\u{feff}{\"id\":\"a\",\"prompt\":\"p\",\"answer\":\"x\"}\r\n{\"id\":\"b\",\"prompt\":\"p\",\"answer\":\"y\"}\r\n";
    std::fs::write(&path, text).unwrap();
    let loaded = task::load(&path, None, false).unwrap();
    assert_eq!(ids(&loaded), ["a", "b"]);
}

#[test]
fn native_read_treats_an_empty_snapshot_as_no_tasks() {
    let loaded = native::read(&bad("empty.jsonl")).unwrap();
    assert!(loaded.tasks.is_empty() && loaded.skipped.is_empty());
}
