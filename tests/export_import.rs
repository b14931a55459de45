//! crit's own formats read back (`critiques`, `trl-preference`: export,
//! import, export gives the same records) and what importers refuse: bad
//! lines, records nothing could read, second copies.

mod export_support;

use crit::labels::chat;
use crit::labels::import::{import, ImportFormat, ImportOptions};
use crit::labels::{export, ExportFormat, Sink};
use export_support::*;

/// export (with meta) -> import -> export: identical without meta (meta
/// names the new session, its seqs and the import source, so it differs).
fn crit_round_trip(format: ExportFormat, import_as: ImportFormat, conversational: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let mut with_meta = opts(format);
    with_meta.conversational = conversational;
    let first = tmp.path().join("first.jsonl");
    let mut sink = Sink::file(&first).unwrap();
    export(std::slice::from_ref(&dir), &with_meta, &mut sink).unwrap();
    sink.finish().unwrap();
    let again = tmp.path().join("again");
    import_into(&first, import_as, &again, false);
    let mut plain = no_meta(format);
    plain.conversational = conversational;
    let before = export_lines(&dir, &plain);
    let after = export_lines(&again, &plain);
    assert!(!before.is_empty());
    assert_eq!(after, before);
}

#[test]
fn critiques_export_import_export_is_identical() {
    crit_round_trip(ExportFormat::Critiques, ImportFormat::Critiques, false);
}

/// Without meta the prompt identifies the task and every label gets the
/// import's evaluator; the records still come back the same.
#[test]
fn critiques_round_trip_without_meta() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let before = export_lines(&dir, &no_meta(ExportFormat::Critiques));
    let file = tmp.path().join("c.jsonl");
    let text: String = before.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let again = tmp.path().join("again");
    import_into(&file, ImportFormat::Critiques, &again, false);
    assert_eq!(
        export_lines(&again, &no_meta(ExportFormat::Critiques)),
        before
    );
}

#[test]
fn trl_preference_export_import_export_is_identical() {
    crit_round_trip(
        ExportFormat::TrlPreference,
        ImportFormat::TrlPreference,
        false,
    );
    crit_round_trip(
        ExportFormat::TrlPreference,
        ImportFormat::TrlPreference,
        true,
    );
}

/// HH-RLHF dialogues become chat turns in the message formats, and both
/// the conversational and the plain export import back to the same pairs.
#[test]
fn hh_rlhf_dialogues_become_turns_and_round_trip_conversationally() {
    let src_path = data("hh_rlhf_harmless_base_test/sample.jsonl", "hh-rlhf.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hh");
    import_into(&src_path, ImportFormat::HhRlhf, &dir, true);
    let data = crit::session::Replay::read(&dir).unwrap();
    for t in data.tasks() {
        let msgs = chat::prompt_turns(&t.prompt);
        assert_eq!(msgs[0].role, crit::labels::records::Role::User);
        // One turn comes back as plain text (no "Human: " prefix).
        let back = chat::prompt_from_messages(&msgs).unwrap();
        if msgs.len() == 1 {
            assert_eq!(format!("Human: {back}"), t.prompt);
        } else {
            assert_eq!(back, t.prompt);
        }
    }
    for conversational in [true, false] {
        let mut o = no_meta(ExportFormat::TrlPreference);
        o.conversational = conversational;
        let first = export_lines(&dir, &o);
        if conversational {
            assert!(first
                .iter()
                .any(|r| r["prompt"].as_array().unwrap().len() > 1));
        }
        let file = tmp.path().join(format!("pref-{conversational}.jsonl"));
        let text: String = first.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&file, text).unwrap();
        let again = tmp.path().join(format!("again-{conversational}"));
        import_into(&file, ImportFormat::TrlPreference, &again, false);
        assert_eq!(export_lines(&again, &o), first);
    }
}

#[test]
fn import_refuses_a_second_copy_and_foreign_sessions() {
    let src = data(
        "mt_bench/human_pairwise_llmbar.jsonl",
        "mt-bench-human.jsonl",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    import_into(&src, ImportFormat::MtBenchHuman, &dir, false);
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let o = ImportOptions::default();
    let again = import(&src, ImportFormat::MtBenchHuman, &dir, o).unwrap_err();
    assert!(again.to_string().contains("already imported"), "{again}");
    let hh = data("hh_rlhf_harmless_base_test/sample.jsonl", "hh-rlhf.jsonl");
    let o = ImportOptions {
        skip_invalid: true,
        ..Default::default()
    };
    let foreign = import(&hh, ImportFormat::HhRlhf, &dir, o).unwrap_err();
    assert!(
        foreign.to_string().contains("is not in session"),
        "{foreign}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("events.jsonl")).unwrap(),
        events
    );
}

/// Meta written to a sidecar is read back from it: the same tasks and
/// evaluators as with meta inline.
#[test]
fn critiques_round_trip_through_a_meta_sidecar() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build(tmp.path());
    let mut o = opts(ExportFormat::Critiques);
    o.meta = crit::labels::MetaMode::Sidecar;
    let out = tmp.path().join("c.jsonl");
    export_to(std::slice::from_ref(&dir), &o, &out);
    let again = tmp.path().join("again");
    import_into(&out, ImportFormat::Critiques, &again, false);
    let inline = opts(ExportFormat::Critiques);
    let names = |recs: Vec<serde_json::Value>| -> Vec<(String, String)> {
        recs.iter()
            .map(|r| {
                let m = &r["meta"];
                (
                    m["task"].as_str().unwrap().into(),
                    m["evaluator"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(
        names(export_lines(&again, &inline)),
        names(export_lines(&dir, &inline))
    );
    assert_eq!(
        export_lines(&again, &no_meta(ExportFormat::Critiques)),
        export_lines(&dir, &no_meta(ExportFormat::Critiques))
    );
}
