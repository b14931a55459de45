//! `crit assign` and `crit audit` on a synthetic study (see audit_study):
//! every figure of the report against values computed by hand, the CLI's
//! renderings, and the HTML page in a real headless Chromium.

#[path = "audit_study/mod.rs"]
mod study;

use crit::audit::metrics::Keyed;
use crit::audit::stats::{Bootstrap, Figure};
use crit::audit::{audit, Report, Settings};
use crit::session::event::{Protocol, ProtocolSpec};
use crit::session::{Body, Replay};
use std::path::{Path, PathBuf};
use study::crit;

fn report(dirs: &[PathBuf], gold: &Path) -> Report {
    audit(dirs, Some(gold), Settings::new(Bootstrap::default())).unwrap()
}

/// n, count and value of a figure; values compared to 1e-9.
#[track_caller]
fn check(f: &Figure, n: usize, count: Option<usize>, value: Option<f64>) {
    assert_eq!(f.n, n, "n of {f:?}");
    assert_eq!(f.count, count, "count of {f:?}");
    match (f.value, value) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{a} != {b} in {f:?}"),
        (a, b) => assert_eq!(a, b, "value of {f:?}"),
    }
    if let (Some(v), Some([lo, hi])) = (f.value, f.ci95) {
        assert!(lo <= v + 1e-12 && v <= hi + 1e-12, "{f:?}");
    }
}

/// A share: count of n, with its bootstrap interval.
#[track_caller]
fn share(f: &Figure, count: usize, n: usize) {
    check(f, n, Some(count), Some(count as f64 / n as f64));
    assert!(f.ci95.is_some(), "{f:?}");
}

/// Too little data: no number, and the note says so.
#[track_caller]
fn insufficient(f: &Figure, n: usize) {
    assert_eq!((f.n, f.value), (n, None), "{f:?}");
    assert_eq!(
        f.note.as_deref(),
        Some(format!("insufficient data (n={n}, need 5)").as_str())
    );
}

fn keys<T>(groups: &[Keyed<T>]) -> Vec<&str> {
    groups.iter().map(|k| k.key.as_str()).collect()
}

#[test]
fn assign_plan_is_balanced_recorded_and_matches_review_arms() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirs, _, plan) = study::build(tmp.path());
    assert!(
        plan.contains("study study: 6 tasks x overlap 2 over 3 evaluators, seed 3"),
        "{plan}"
    );
    for line in [
        "ana               4    2      6",
        "ana                 4        2        2",
    ] {
        assert!(plan.contains(line), "{plan}");
    }
    assert!(plan.contains("--evaluator cho --arms assisted,blind-first --arm-seed 3"));
    let expected = [
        ["t4", "t1", "t5", "t3", "q2", "q1"],
        ["t6", "t4", "q1", "t2", "q2", "t3"],
        ["q1", "q2", "t2", "t1", "t5", "t6"],
    ];
    for (dir, want) in dirs.iter().zip(expected) {
        let data = Replay::read(dir).unwrap();
        let Body::Assigned {
            order,
            arms,
            qc,
            overlap,
            seed,
            ..
        } = &data.events()[1].body
        else {
            panic!("no assigned event in {}", dir.display());
        };
        assert_eq!(order, &want, "{}", dir.display());
        assert_eq!((qc.len(), overlap, seed), (2, &2, &3));
        let ids: Vec<&str> = data.tasks().iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, want, "the snapshot is in review order");
        // The review UI follows the recorded arms, whether or not it is
        // given the printed --arms/--arm-seed (which draw the same ones).
        let printed = crit::tui::Options {
            protocol: ProtocolSpec::Arms {
                arms: vec![Protocol::Assisted, Protocol::BlindFirst],
                seed: 3,
            },
            ..Default::default()
        };
        let tasks: Vec<crit::task::Task> = data.tasks().iter().map(|t| (**t).clone()).collect();
        let bare = crit::tui::App::new(Default::default(), data.clone());
        let drawn = crit::tui::App::new(printed, Replay::new(tasks, Vec::new()));
        for (i, t) in data.tasks().iter().enumerate() {
            assert_eq!(bare.arm(i), arms[&t.id], "task {}", t.id);
            assert_eq!(drawn.arm(i), arms[&t.id], "task {}", t.id);
            let bf = ["t1", "t2", "t3"].contains(&t.id.as_str());
            let want = if bf {
                Protocol::BlindFirst
            } else {
                Protocol::Assisted
            };
            assert_eq!(arms[&t.id], want);
        }
    }
    // Same request again: the sessions exist, nothing is overwritten.
    let inputs = study::write_inputs(tmp.path());
    let out = crit(&tmp.path().join("sessions"))
        .arg("assign")
        .arg(&inputs.0)
        .args([
            "--evaluators",
            "ana,ben,cho",
            "--overlap",
            "2",
            "--seed",
            "3",
            "--prefix",
            "study",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn assign_refuses_bad_requests_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = study::write_inputs(tmp.path());
    for (args, msg) in [
        (
            vec!["--evaluators", "ana,ben", "--overlap", "3"],
            "--overlap 3",
        ),
        (vec!["--evaluators", "ana,ana"], "listed twice"),
        (
            vec!["--evaluators", "ana", "--arms", "sideways"],
            "unknown arm",
        ),
    ] {
        let out = crit(tmp.path())
            .arg("assign")
            .arg(&inputs.0)
            .args(["--seed", "1"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(msg),
            "{args:?}"
        );
    }
    // Without --planted, QC items are planted from the known-good tasks.
    let out = crit(tmp.path())
        .arg("assign")
        .arg(&inputs.0)
        .args(["--seed", "1", "--evaluators", "ana", "--qc-rate", "0.2"])
        .args(["--prefix", "selfplanted"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replay = crit::session::Replay::read(&tmp.path().join("selfplanted-ana")).unwrap();
    let qc: Vec<String> = replay
        .events()
        .iter()
        .find_map(|e| match &e.body {
            crit::session::Body::Assigned { qc, .. } => Some(qc.clone()),
            _ => None,
        })
        .unwrap();
    assert!(!qc.is_empty());
    for id in &qc {
        let t = replay.tasks().iter().find(|t| &t.id == id).unwrap();
        assert!(crit::audit::plant::planting(t).is_some(), "{id}");
    }
    // A planted file whose tasks are not planted, with file:line.
    let out = crit(tmp.path())
        .arg("assign")
        .arg(&inputs.0)
        .args([
            "--evaluators",
            "ana",
            "--seed",
            "1",
            "--qc-rate",
            "0.2",
            "--planted",
        ])
        .arg(&inputs.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:1: task \"t1\" has no meta.planted",
            inputs.0.display()
        )),
        "{err}"
    );
}

#[test]
fn synthetic_study_gives_the_hand_computed_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirs, gold, _) = study::build(tmp.path());
    let r = report(&dirs, &gold);

    // Design.
    assert_eq!(r.studies.len(), 1);
    let s = &r.studies[0];
    assert_eq!(
        (s.overlap, s.seed, s.sessions, s.items, s.qc_items),
        (2, 3, 3, 18, 6)
    );
    assert_eq!(r.sessions[2].evaluators, ["cho"]);

    // Precision: 36 labels; ana and ben: 6 hallucinated (critique 0),
    // 4 valid + 2 nitpick (critique 1); cho: 12 valid.
    let p = &r.precision;
    assert_eq!(p.overall.n, 36);
    share(&p.overall.valid, 20, 36);
    share(&p.overall.hallucinated, 12, 36);
    share(&p.overall.nitpick, 4, 36);
    assert_eq!(p.by_model.len(), 1);
    assert_eq!(p.by_template.len(), 1);
    assert_eq!(keys(&p.by_severity), ["major", "minor"]);
    share(&p.by_severity[0].value.valid, 6, 18);
    share(&p.by_severity[0].value.hallucinated, 12, 18);
    share(&p.by_severity[1].value.valid, 14, 18);
    share(&p.by_severity[1].value.nitpick, 4, 18);
    assert_eq!(keys(&p.by_category), ["arithmetic", study::CATEGORY_1]);

    // Missed flaws: ana t4, t5 and cho t5 quote the last step, which no
    // assistant critique covers; ben's on q1 and t6 are covered; ana's
    // second on t4 has no span.
    let m = &r.missed_flaws;
    assert_eq!(m.written, 6);
    share(&m.missed, 3, 5);
    let per: Vec<(&str, usize, usize, usize)> = m
        .per_task
        .iter()
        .map(|t| (t.task.as_str(), t.written, t.comparable, t.missed))
        .collect();
    assert_eq!(
        per,
        [
            ("q1", 1, 1, 0),
            ("t4", 2, 1, 1),
            ("t5", 2, 2, 2),
            ("t6", 1, 1, 0)
        ]
    );
    // 2 planted tasks x 3 sessions x 2 critiques; critique 1 quotes "15".
    share(&m.assistant_quotes_plant, 6, 12);

    // Checks: the assistant always says pass; ana and ben say fail on the
    // 4 wrong answers each.
    let c = &r.checks;
    assert_eq!(
        c.matrix.counts,
        vec![vec![10, 8, 0], vec![0, 0, 0], vec![0, 0, 0]]
    );
    share(&c.agreement, 10, 18);
    check(&c.kappa, 18, None, Some(0.0));

    // Steps: 18 rated decompositions; first -1 at step 2 for ana and ben
    // (flagged by critique 1), at step 3 for cho (not flagged).
    let st = &r.steps;
    assert_eq!((st.rated_paths, st.on_decomposition), (18, 18));
    share(&st.with_error, 12, 18);
    let hist: Vec<(usize, usize)> = st
        .first_error_step
        .iter()
        .map(|p| (p.step, p.count))
        .collect();
    assert_eq!(hist, [(2, 8), (3, 4)]);
    check(&st.first_error_relative, 12, None, Some(28.0 / 36.0));
    share(&st.first_error_flagged_by_critique, 8, 12);

    // Effect of assistance: six blind-first pairs.
    let b = &r.effect.blind_first;
    assert_eq!(b.pairs, 6);
    share(&b.changed, 4, 6);
    assert_eq!((b.accept_to_reject, b.reject_to_accept), (0, 2));
    assert_eq!((b.score_up, b.score_down, b.preference_changed), (3, 1, 0));
    check(&b.confidence_change, 6, None, Some(80.0 / 6.0));
    let g = &r.effect.gold;
    assert_eq!(
        (
            g.tasks,
            g.from_file,
            g.from_imports,
            g.from_planted,
            g.import_conflicts
        ),
        (8, 6, 0, 2, 0)
    );
    assert_eq!(keys(&r.effect.accuracy_by_arm), ["assisted", "blind-first"]);
    share(&r.effect.accuracy_by_arm[0].value, 6, 12);
    share(&r.effect.accuracy_by_arm[1].value, 6, 6);
    let d = &r.effect.arm_differences[0];
    assert_eq!((d.a.as_str(), d.b.as_str()), ("assisted", "blind-first"));
    check(&d.difference, 18, None, Some(-0.5));

    // Planted: ana rejects both, ben's critique catches q1, cho accepts.
    let pl = &r.planted;
    assert_eq!(pl.items, 2);
    share(&pl.caught, 3, 6);
    assert_eq!(keys(&pl.by_arm), ["assisted"]);
    share(&pl.by_arm[0].value, 3, 6);
    assert_eq!(keys(&pl.by_evaluator), ["ana", "ben", "cho"]);
    for (k, caught) in pl.by_evaluator.iter().zip([2, 1, 0]) {
        insufficient(&k.value, 2);
        assert_eq!(k.value.count, Some(caught));
    }

    // Agreement: each pair shares 4 tasks (too few for kappa).
    let a = &r.agreement;
    assert_eq!(a.pairs.len(), 3);
    for pk in &a.pairs {
        insufficient(&pk.kappa_accept, 4);
    }
    let al = &a.alpha;
    check(&al.accept_nominal, 8, None, Some(8.0 / 144.0));
    insufficient(&al.preference_nominal, 0);
    check(
        &al.score_ordinal,
        8,
        None,
        Some(1.0 - 17.0 * 944.0 / 13824.0),
    );
    check(&al.score_interval, 8, None, Some(-0.03125));
    check(&al.critique_label_nominal, 16, None, Some(11.0 / 46.0));
    check(&al.check_label_nominal, 8, None, Some(0.15));
    check(&al.step_rating_ordinal, 24, None, Some(936.0 / 1360.0));
    assert_eq!(keys(&a.with_gold), ["ana", "ben", "cho"]);
    for (k, (correct, kappa)) in a.with_gold.iter().zip([(6, 1.0), (4, 0.4), (2, 0.0)]) {
        share(&k.value.accuracy, correct, 6);
        check(&k.value.kappa_accept, 6, None, Some(kappa));
    }

    // Time: ana 30 s a task; ben 60 s, 90 s blind-first; cho 5 s.
    let t = &r.time;
    assert_eq!(keys(&t.by_arm), ["assisted", "blind-first"]);
    check(
        &t.by_arm[0].value.mean_seconds,
        12,
        None,
        Some(380.0 / 12.0),
    );
    check(&t.by_arm[0].value.median_seconds, 12, None, Some(30.0));
    check(&t.by_arm[1].value.mean_seconds, 6, None, Some(250.0 / 6.0));
    check(&t.by_arm[1].value.median_seconds, 6, None, Some(30.0));
    for (k, (mean, median)) in t
        .by_evaluator
        .iter()
        .zip([(30.0, 30.0), (70.0, 60.0), (5.0, 5.0)])
    {
        check(&k.value.mean_seconds, 6, None, Some(mean));
        check(&k.value.median_seconds, 6, None, Some(median));
    }
    assert_eq!(t.by_evaluator_arm.len(), 6);
    insufficient(&t.by_evaluator_arm[0].value.mean_seconds, 4);
    // Rubber stamps: all 36 of cho's labels came within 2 s of showing.
    let rs = &t.rubber_stamp;
    assert_eq!(rs.threshold_ms, 2000);
    share(&rs.fast, 36, 108);
    for (k, fast) in rs.by_evaluator.iter().zip([0, 0, 36]) {
        share(&k.value, fast, 36);
    }
    // cho's 6 valid labels on critique 1 came without focusing it.
    share(&t.valid_without_focus, 6, 20);
}

#[test]
fn report_is_deterministic_and_the_cli_prints_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirs, gold, _) = study::build(tmp.path());
    let r = report(&dirs, &gold);
    assert_eq!(r, report(&dirs, &gold));
    let sessions = tmp.path().join("sessions");
    let run = |extra: &[&str]| {
        let out = crit(&sessions)
            .args(["audit", "study-ana", "study-ben", "study-cho", "--gold"])
            .arg(&gold)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let printed = run(&["--json"]);
    // Compared as text: parsing floats back may move them by an ulp.
    assert_eq!(printed.trim_end(), crit::audit::render::json(&r));
    let json: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(json["precision"]["overall"]["valid"]["count"], 20);
    assert_eq!(json["settings"]["bootstrap_seed"], 1);
    let text = run(&[]);
    assert!(
        !text.contains('\u{1b}'),
        "escape sequence reached the terminal"
    );
    assert!(text.contains("correct\\e[31mness"));
    assert!(text.contains("55.6% ["), "{text}");
    assert!(text.contains("█"));
    let md = run(&["--markdown"]);
    assert!(md.contains("## Critique precision") && md.contains("| --- |"));
    assert!(!md.contains('\u{1b}'));
    // Another seed: same values, other intervals.
    let other: serde_json::Value = serde_json::from_str(&run(&["--json", "--seed", "9"])).unwrap();
    let v = |j: &serde_json::Value| j["precision"]["overall"]["valid"].clone();
    assert_eq!(v(&other)["value"], v(&json)["value"]);
    assert_ne!(v(&other)["ci95"], v(&json)["ci95"]);
}

#[test]
fn bad_gold_and_unknown_sessions_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, _) = study::build(tmp.path());
    let gold = tmp.path().join("bad-gold.jsonl");
    std::fs::write(
        &gold,
        "{\"task\": \"t1\", \"accept\": true}\n{\"task\": \"t2\", \"score\": 9}\n",
    )
    .unwrap();
    let sessions = tmp.path().join("sessions");
    let out = crit(&sessions)
        .args(["audit", "study-ana", "--gold"])
        .arg(&gold)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2: score 9 is outside 1-7", gold.display())),
        "{err}"
    );
    for args in [
        vec!["audit", "nobody"],
        vec!["audit", "study-ana", "study-ana"],
        vec!["audit", "study-ana", "--gold", "/nonexistent/gold.jsonl"],
    ] {
        let out = crit(&sessions).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

fn chromium() -> PathBuf {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    });
    found.expect("chromium is not installed: run `make deps` (scripts/browser-deps.sh installs Debian's chromium)")
}

/// Is any pixel of the screenshot not the page background?
fn drawn_pixels(png_path: &Path) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let px = info.color_type.samples();
    let first = &bytes[..px];
    let differing = bytes.chunks(px).filter(|p| *p != first).count();
    (info.width, info.height, differing)
}

#[test]
fn html_report_opens_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, gold, _) = study::build(tmp.path());
    let page = tmp.path().join("audit.html");
    let out = crit(&tmp.path().join("sessions"))
        .args(["audit", "study-ana", "study-ben", "study-cho", "--gold"])
        .arg(&gold)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains('\u{1b}'));
    let shot = tmp.path().join("shot.png");
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args([
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ])
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {log}");
    for bad in [
        "Refused to",
        "Failed to load",
        "Uncaught",
        "ERR_FILE_NOT_FOUND",
    ] {
        assert!(!log.contains(bad), "page error {bad:?}: {log}");
    }
    let (w, h, drawn) = drawn_pixels(&shot);
    assert_eq!((w, h), (1280, 2400));
    assert!(
        drawn > 10_000,
        "screenshot looks blank ({drawn} pixels drawn)"
    );
}
