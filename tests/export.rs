//! Golden-file tests of `crit export` on a synthetic session with fixed
//! content, plus retraction, `--resolve`, missing-label, meta and
//! atomic-write cases. Timestamps are normalized before snapshotting.

mod export_support;

use crit::labels::{
    export, ExportFormat, ExportOptions, LabelKind, Manifest, MetaMode, Resolve, Sink,
};
use export_support::*;
use serde_json::{json, Value};

#[test]
fn golden_trl_preference() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::TrlPreference)));
}

#[test]
fn golden_trl_preference_conversational_no_meta() {
    let mut o = opts(ExportFormat::TrlPreference);
    o.conversational = true;
    o.meta = MetaMode::None;
    insta::assert_snapshot!(golden(&o));
}

#[test]
fn golden_trl_kto() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::TrlKto)));
}

#[test]
fn golden_reward() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::Reward)));
}

#[test]
fn golden_reward_normalized_no_meta() {
    let mut o = opts(ExportFormat::Reward);
    o.normalize = true;
    o.meta = MetaMode::None;
    insta::assert_snapshot!(golden(&o));
}

#[test]
fn golden_trl_stepwise() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::TrlStepwise)));
}

#[test]
fn golden_prm800k() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::Prm800k)));
}

#[test]
fn golden_openai_sft() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::OpenaiSft)));
}

#[test]
fn golden_openai_dpo() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::OpenaiDpo)));
}

#[test]
fn golden_critiques() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::Critiques)));
}

#[test]
fn golden_hh_rlhf() {
    insta::assert_snapshot!(golden(&opts(ExportFormat::HhRlhf)));
}

fn export_records(o: &ExportOptions) -> (Vec<Value>, Manifest) {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let (text, m) = run(tmp.path(), o);
    let v = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (v, m)
}

#[test]
fn retracted_labels_are_not_exported() {
    // bob's retracted "prefers A" must not appear; his earlier B stands.
    let (recs, _) = export_records(&opts(ExportFormat::TrlPreference));
    let bob: Vec<&Value> = recs
        .iter()
        .filter(|r| r["meta"]["evaluator"] == "bob" && r["meta"]["task"] == "pair")
        .collect();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["chosen"], " What do you want?");
    // alice's retracted step rating 0 is gone; her later -1 counts.
    let (recs, _) = export_records(&opts(ExportFormat::Prm800k));
    let alice = recs.iter().find(|r| r["labeler"] == "alice").unwrap();
    assert_eq!(alice["label"]["steps"][2]["completions"][0]["rating"], -1);
    assert_eq!(alice["label"]["finish_reason"], "found_error");
    // the retracted critique label leaves critique 2 unlabelled, counted.
    let (recs, m) = export_records(&opts(ExportFormat::Critiques));
    assert!(recs.iter().all(|r| r["quote"] != "Marseille"));
    assert_eq!(m.counts.skipped.get("unlabelled_critique"), Some(&1));
}

#[test]
fn resolve_all_keeps_every_evaluator() {
    let (recs, m) = export_records(&opts(ExportFormat::TrlKto));
    let math: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["task"] == "math")
        .collect();
    assert_eq!(math.len(), 3);
    assert!(m.counts.conflicts >= 1);
}

#[test]
fn resolve_latest_takes_the_most_recent() {
    let mut o = opts(ExportFormat::TrlKto);
    o.resolve = Resolve::Latest;
    let (recs, _) = export_records(&o);
    let math: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["task"] == "math")
        .collect();
    assert_eq!(math.len(), 1);
    assert_eq!(math[0]["meta"]["evaluator"], "carol");
}

#[test]
fn resolve_majority_and_tie() {
    let mut o = opts(ExportFormat::TrlKto);
    o.resolve = Resolve::Majority;
    let (recs, _) = export_records(&o);
    let math: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["task"] == "math")
        .collect();
    assert_eq!(math.len(), 1);
    assert_eq!(math[0]["label"], false);
    assert_eq!(math[0]["meta"]["evaluators"], json!(["alice", "carol"]));
    // pair: alice A, bob B (carol's tie gives no pair): a tie, nothing written.
    let mut o = opts(ExportFormat::TrlPreference);
    o.resolve = Resolve::Majority;
    let (recs, m) = export_records(&o);
    assert!(recs.iter().all(|r| r["meta"]["task"] != "pair"));
    assert_eq!(m.counts.ties, 1);
    assert_eq!(m.counts.skipped.get("pairwise_tie"), Some(&1));
}

#[test]
fn missing_labels_are_counted_not_invented() {
    let (recs, m) = export_records(&opts(ExportFormat::Reward));
    assert!(recs.iter().all(|r| r["meta"]["task"] != "unlabelled"));
    // reward needs a 1-7 score: only math and essay have one.
    assert_eq!(m.counts.tasks_without_label, 2);
    let (_, m) = export_records(&opts(ExportFormat::TrlStepwise));
    assert_eq!(m.counts.tasks_without_label, 2);
}

#[test]
fn filters_evaluator_confidence_arm_kinds_window() {
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.evaluators = vec!["bob".into()];
    let (recs, _) = export_records(&o);
    assert!(recs.iter().all(|r| r["meta"]["evaluator"] == "bob"));
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.min_confidence = Some(75);
    let (recs, m) = export_records(&o);
    // bob's 60% verdict on math is out, his 100% one on essay stays.
    let bob: Vec<_> = recs
        .iter()
        .filter(|r| r["meta"]["evaluator"] == "bob")
        .collect();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["meta"]["task"], "essay");
    assert!(m.counts.skipped["below_min_confidence"] >= 1);
    let mut o = opts(ExportFormat::TrlStepwise);
    o.filters.arm = Some(crit::session::event::Protocol::Assisted);
    let (recs, _) = export_records(&o);
    assert_eq!(recs.len(), 2); // alice's alternative + path; bob is unassisted
    let mut o = opts(ExportFormat::TrlPreference);
    o.filters.kinds = vec![LabelKind::Correction];
    let (recs, _) = export_records(&o);
    assert!(recs.iter().all(|r| r["meta"]["kind"] == "correction"));
    assert_eq!(recs.len(), 2);
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.until = Some("2000-01-01T00:00:00Z".into());
    let (recs, _) = export_records(&o);
    assert!(recs.is_empty());
    let mut o = opts(ExportFormat::TrlKto);
    o.filters.since = Some("2000-01-01T00:00:00Z".into());
    assert_eq!(export_records(&o).0.len(), 4);
}

#[test]
fn failed_export_leaves_target_unchanged_and_no_temp_file() {
    let tmp = tempfile::tempdir().unwrap();
    let good = build(tmp.path());
    // A second "session" whose log is corrupt: the export fails after the
    // first session's records were already streamed to the temp file.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::copy(good.join("tasks.jsonl"), bad.join("tasks.jsonl")).unwrap();
    std::fs::write(bad.join("events.jsonl"), "{not json\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    std::fs::write(&out, "previous export\n").unwrap();
    let mut sink = Sink::file(&out).unwrap();
    let temp = crit::labels::temp_path(&out);
    assert!(temp.exists(), "records stream into a temp file");
    let err = export(&[good, bad], &opts(ExportFormat::Critiques), &mut sink);
    assert!(err.is_err());
    drop(sink);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous export\n");
    assert!(!temp.exists(), "temp file removed");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn target_is_never_partial_during_export() {
    // Until `finish`, the target path does not exist: records go elsewhere.
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let out = tmp.path().join("new.jsonl");
    let mut sink = Sink::file(&out).unwrap();
    export(&[dir], &opts(ExportFormat::Critiques), &mut sink).unwrap();
    assert!(!out.exists());
    sink.finish().unwrap();
    assert!(out.exists());
}

#[test]
fn manifest_lists_sessions_filters_and_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let out = tmp.path().join("m.jsonl");
    let mut sink = Sink::file(&out).unwrap();
    let m = export(&[dir], &opts(ExportFormat::Critiques), &mut sink).unwrap();
    sink.finish().unwrap();
    let path = Manifest::path_for(&out);
    m.write(&path).unwrap();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["format"], "critiques");
    assert_eq!(v["sessions"][0]["name"], "golden");
    assert_eq!(
        v["sessions"][0]["events_sha256"].as_str().unwrap().len(),
        64
    );
    assert_eq!(v["counts"]["records"], 5);
    assert_eq!(v["counts"]["by_kind"]["user_critique"], 2);
    assert_eq!(v["crit_version"], crit::VERSION);
}

/// Plain formats follow TRL's plain-text convention: the prompt ends with
/// the assistant's turn marker and every reply starts with its separating
/// space, so the prompt is a prefix of prompt + reply at a token boundary.
#[test]
fn plain_prompts_end_on_the_turn_marker_and_replies_start_with_a_space() {
    for format in [
        ExportFormat::TrlPreference,
        ExportFormat::TrlKto,
        ExportFormat::Reward,
    ] {
        let (recs, _) = export_records(&opts(format));
        assert!(!recs.is_empty());
        for r in &recs {
            let prompt = r["prompt"].as_str().unwrap();
            assert!(prompt.starts_with("\n\nHuman: "), "{prompt:?}");
            assert!(prompt.ends_with("\n\nAssistant:"), "{prompt:?}");
            for key in ["chosen", "rejected", "completion", "response"] {
                if let Some(reply) = r[key].as_str() {
                    assert!(reply.starts_with(' ') && !reply[1..].is_empty(), "{key}");
                }
            }
        }
    }
}

/// OpenAI's validator rejects unknown keys: by default the OpenAI formats
/// have only the documented ones, and meta goes to FILE.meta.jsonl, one
/// line per record in the same order.
#[test]
fn openai_records_are_loader_clean_with_meta_in_a_sidecar() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    for (format, keys) in [
        (ExportFormat::OpenaiSft, vec!["messages"]),
        (
            ExportFormat::OpenaiDpo,
            vec!["input", "non_preferred_output", "preferred_output"],
        ),
    ] {
        let out = tmp.path().join(format!("{}.jsonl", format.name()));
        let m = export_to(std::slice::from_ref(&dir), &opts(format), &out);
        let recs = read_jsonl(&out);
        let metas = read_jsonl(&crit::labels::meta_path(&out));
        assert_eq!(recs.len(), metas.len());
        assert_eq!(recs.len() as u64, m.counts.records);
        for (r, meta) in recs.iter().zip(&metas) {
            let got: Vec<&String> = r.as_object().unwrap().keys().collect();
            assert_eq!(got, keys);
            assert_eq!(meta["session"], "golden");
        }
        assert!(m.meta_output.unwrap().ends_with(".meta.jsonl"));
        // Asked for, meta goes inline; the sidecar is not written.
        let mut inline = opts(format);
        inline.meta = MetaMode::Inline;
        let out2 = tmp.path().join(format!("inline-{}.jsonl", format.name()));
        export_to(std::slice::from_ref(&dir), &inline, &out2);
        assert!(read_jsonl(&out2)
            .iter()
            .all(|r| r["meta"]["session"] == "golden"));
        assert!(!crit::labels::meta_path(&out2).exists());
    }
    // A sidecar needs a file.
    let mut sink = Sink::writer(Box::new(std::io::sink()));
    let err = export(&[dir], &opts(ExportFormat::OpenaiSft), &mut sink).unwrap_err();
    assert!(err.to_string().contains("needs an output file"), "{err}");
}

/// Every format (and its variants), with manifests, through
/// scripts/check_exports.py; then broken files must fail with file:line.
#[test]
fn python_check_accepts_every_export_and_rejects_broken_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let mut variants: Vec<ExportOptions> = ExportFormat::all().map(opts).collect();
    for format in [
        ExportFormat::TrlPreference,
        ExportFormat::TrlKto,
        ExportFormat::Reward,
    ] {
        let mut conv = opts(format);
        conv.conversational = true;
        variants.push(conv);
    }
    let mut norm = opts(ExportFormat::Reward);
    norm.normalize = true;
    norm.meta = MetaMode::None;
    variants.push(norm);
    let mut files = Vec::new();
    for (i, o) in variants.iter().enumerate() {
        let out = tmp.path().join(format!("{i}-{}.jsonl", o.format.name()));
        let m = export_to(std::slice::from_ref(&dir), o, &out);
        assert!(m.counts.records > 0, "{} wrote nothing", o.format.name());
        files.push(out);
    }
    let ok = check_exports(&files, &[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let broken = |name: &str, from: usize, edit: &dyn Fn(String) -> String| {
        let path = tmp.path().join(name);
        std::fs::write(&path, edit(std::fs::read_to_string(&files[from]).unwrap())).unwrap();
        std::fs::copy(Manifest::path_for(&files[from]), Manifest::path_for(&path)).unwrap();
        let sidecar = crit::labels::meta_path(&files[from]);
        if sidecar.exists() {
            std::fs::copy(sidecar, crit::labels::meta_path(&path)).unwrap();
        }
        let out = check_exports(&[path], &[]);
        assert_eq!(out.status.code(), Some(1), "{name} passed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A renamed field (trl-kto is the second format).
    let err = broken("renamed.jsonl", 1, &|t| {
        t.replacen("\"label\"", "\"lable\"", 1)
    });
    assert!(
        err.contains("renamed.jsonl:1:") && err.contains("lable"),
        "{err}"
    );
    // A plain prompt glued to its reply (no separator): not a clean prefix.
    let err = broken("glued.jsonl", 0, &|t| {
        t.replace("\"chosen\":\" ", "\"chosen\":\"")
    });
    assert!(
        err.contains("glued.jsonl:1:") && err.contains("separat"),
        "{err}"
    );
    // An extra key in an OpenAI file.
    let err = broken("extra.jsonl", 5, &|t| {
        t.replacen("{\"messages\"", "{\"x\":1,\"messages\"", 1)
    });
    assert!(err.contains("unexpected field 'x'"), "{err}");
    // A DPO input ending with the assistant (the validator's rule).
    let err = broken("assistant_last.jsonl", 6, &|t| {
        let turn = r#",{"role":"assistant","content":"x"}]},"preferred_output""#;
        t.replacen(r#"]},"preferred_output""#, turn, 1)
    });
    assert!(
        err.contains("assistant_last.jsonl:1:") && err.contains("must end"),
        "{err}"
    );
    // An absolute path in meta.
    let err = broken("abs.jsonl", 0, &|t| {
        t.replacen(
            "\"session\":\"golden\"",
            "\"session\":\"/home/me/golden\"",
            1,
        )
    });
    assert!(err.contains("absolute path"), "{err}");
}
