//! Model-free assistance: segmentation, arithmetic checks and the reference
//! check, on hand-written cases and on the shared human-labelled samples.

use crit::assist::tools::{self, arith, final_answer};
use crit::assist::{Check, CheckVerdict};
use crit::task::segment::{segment_task, segment_text, Basis};
use crit::task::{self, gsm8k, prm800k, Format, Span, Task};
use std::path::{Path, PathBuf};

// ---- helpers ----

/// ../shared/data of the workspace; `CRIT_SHARED_DATA` overrides it.
fn shared_data() -> PathBuf {
    std::env::var_os("CRIT_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    )
}

/// The full copy in ../shared/data when present (the stronger test), else
/// the small sample shipped in data/samples (clean clones).
fn data(shared: &str, local: &str) -> PathBuf {
    let full = shared_data().join(shared);
    if full.exists() {
        return full;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/samples")
        .join(local)
}

fn task(answer: &str, reference: Option<&str>) -> Task {
    Task {
        id: "t".into(),
        prompt: "q".into(),
        answer: answer.into(),
        answer_b: None,
        reference: reference.map(str::to_string),
        steps: None,
        meta: Default::default(),
    }
}

/// (verdict, anchored text) of every arithmetic check in `answer`.
fn arith(answer: &str) -> Vec<(CheckVerdict, String)> {
    arith::checks(answer)
        .iter()
        .map(|c| (c.assistant_verdict, anchored(answer, c)))
        .collect()
}

fn anchored(answer: &str, c: &Check) -> String {
    let s = c.span.expect("tool checks are anchored");
    answer[s.start..s.end].to_string()
}

const PASS: CheckVerdict = CheckVerdict::Pass;
const FAIL: CheckVerdict = CheckVerdict::Fail;

fn one(answer: &str, verdict: CheckVerdict, text: &str) {
    assert_eq!(
        arith(answer),
        [(verdict, text.to_string())],
        "answer: {answer:?}"
    );
}

fn none(answer: &str) {
    assert_eq!(arith(answer), [], "answer: {answer:?}");
}

// ---- arithmetic forms ----

#[test]
fn plain_operations_right_and_wrong() {
    one("So 16 - 3 = 13 eggs.", PASS, "16 - 3 = 13");
    one("So 16 - 3 = 12 eggs.", FAIL, "16 - 3 = 12");
    one("Total: 12 * 13 = 156", PASS, "12 * 13 = 156");
    one("Total: 12 x 13 = 166", FAIL, "12 x 13 = 166");
    one("Total: 12 × 13 = 156", PASS, "12 × 13 = 156");
    one("It is 84 ÷ 4 = 21.", PASS, "84 ÷ 4 = 21");
    one("It is 84 / 4 = 20.", FAIL, "84 / 4 = 20");
    one("We get 2 + 3 * 4 = 14.", PASS, "2 + 3 * 4 = 14");
    one("We get (2 + 3) * 4 = 20.", PASS, "(2 + 3) * 4 = 20");
    one("Area 2^3 = 8", PASS, "2^3 = 8");
}

#[test]
fn unicode_minus_and_negative_results() {
    one("The change is 5 − 8 = −3 degrees.", PASS, "5 − 8 = −3");
    one("The change is 5 − 8 = −2 degrees.", FAIL, "5 − 8 = −2");
    // The size of a difference, said as "less", is not a sign error.
    one(
        "She earned 360 - 480 = $120 less.",
        PASS,
        "360 - 480 = $120",
    );
}

#[test]
fn chains_and_run_on_chains() {
    assert_eq!(
        arith("16 - 3 - 4 = 9 = 9 eggs"),
        [(PASS, "16 - 3 - 4 = 9".to_string())]
    );
    assert_eq!(
        arith("2 * 3 = 6 + 4 = 10"),
        [
            (PASS, "2 * 3 = 6 + 4".to_string()),
            (PASS, "6 + 4 = 10".to_string())
        ]
    );
    assert_eq!(
        arith("2 * 3 = 6 + 4 = 11"),
        [
            (PASS, "2 * 3 = 6 + 4".to_string()),
            (FAIL, "6 + 4 = 11".to_string())
        ]
    );
    assert_eq!(
        arith("(2 + 3) * 4 = 5 * 4 = 20"),
        [
            (PASS, "(2 + 3) * 4 = 5 * 4".to_string()),
            (PASS, "5 * 4 = 20".to_string())
        ]
    );
}

#[test]
fn gsm8k_annotations() {
    // Prose and annotation agree: one check over both.
    let a = "She has 16 - 3 = <<16-3=13>>13 eggs.";
    one(a, PASS, "16 - 3 = <<16-3=13>>13");
    // Annotation alone.
    one("She makes $<<9*2=18>>18.", PASS, "<<9*2=18>>");
    one("She makes $<<9*2=19>>19.", FAIL, "<<9*2=19>>");
    // The prose copies a wrong number after a right annotation.
    let a = "He made 25*3=<<25*3=75>>7500 dollars";
    assert_eq!(
        arith(a),
        [
            (FAIL, "25*3=<<25*3=75>>7500".to_string()),
            (PASS, "<<25*3=75>>".to_string())
        ]
    );
    // A printed float from the calculator is right, and so is the text's
    // rounding of it.
    let a = "He makes $1.87 x 9 = $<<1.87*9=16.830000000000002>>16.83 selling.";
    one(a, PASS, "$1.87 x 9 = $<<1.87*9=16.830000000000002>>16.83");
    let a = "So $4.20 + $9.45 + $1.35 = $<<4.20+9.45+1.35=14.999999999999998>>14.99 in all";
    assert!(arith(a).iter().all(|(v, _)| *v == PASS), "{:?}", arith(a));
}

#[test]
fn rounding_tolerance() {
    one("Each gets 10 / 3 = 3.33 cups.", PASS, "10 / 3 = 3.33");
    one("Each gets 10 / 3 = 3.3 cups.", PASS, "10 / 3 = 3.3");
    one("Each gets 10 / 3 = 3.35 cups.", FAIL, "10 / 3 = 3.35");
    // A whole number of a non-integer quotient: rounded or truncated.
    one("So 100 / 3 = 33 boxes.", PASS, "100 / 3 = 33");
    one("So 100 / 3 = 35 boxes.", FAIL, "100 / 3 = 35");
    // An exact integer must be written exactly.
    one("So 2.5 * 2 = 4 boxes.", FAIL, "2.5 * 2 = 4");
    one("So 2.5 * 2 = 5.0 boxes.", PASS, "2.5 * 2 = 5.0");
}

#[test]
fn percentages_and_fractions() {
    one("The tip is 20% of 50 = 10 dollars.", PASS, "20% of 50 = 10");
    one("The tip is 20% of 50 = 15 dollars.", FAIL, "20% of 50 = 15");
    one("A share of 10/50 = 20% of all.", PASS, "10/50 = 20%");
    one(
        "A share of 0.2 * 100 = 20% of all.",
        PASS,
        "0.2 * 100 = 20%",
    );
    one("Then 100% - 20% = 80% remain.", PASS, "100% - 20% = 80%");
    one("Then 100% - 20% = 70% remain.", FAIL, "100% - 20% = 70%");
    one("Half: 3/4 of 20 = 15 apples.", PASS, "3/4 of 20 = 15");
    one("Half: 1/2 + 1/3 = 5/6 of it.", PASS, "1/2 + 1/3 = 5/6");
    one("The rest ½ * 10 = 5 cups.", PASS, "½ * 10 = 5");
    one(
        "LaTeX: $3 \\times 4 = 12$ and done",
        PASS,
        "$3 \\times 4 = 12",
    );
    // Calculator notation: 50 + 20% can mean 60; no verdict.
    none("The price 50 + 20% = 60 dollars.");
}

#[test]
fn currency_thousands_and_units() {
    one(
        "It costs $1,200.50 * 2 = $2,401 in all.",
        PASS,
        "$1,200.50 * 2 = $2,401",
    );
    one(
        "It costs $1,200.50 * 2 = $2,400 in all.",
        FAIL,
        "$1,200.50 * 2 = $2,400",
    );
    one("Pay €15 + €5 = €20 now.", PASS, "€15 + €5 = €20");
    one(
        "Cost \\$1.24 - \\$0.24 = \\$1 total",
        PASS,
        "\\$1.24 - \\$0.24 = \\$1",
    );
    one("The bags weigh 5kg + 3kg = 8kg.", PASS, "5kg + 3kg = 8");
    one("It took 1.5 * 60 = 90 minutes.", PASS, "1.5 * 60 = 90");
    // Unit words between numbers: the same unit in a sum, any in a product.
    one(
        "Together 160 sheep + 80 sheep + 20 sheep = 260 sheep",
        PASS,
        "160 sheep + 80 sheep + 20 sheep = 260",
    );
    one(
        "Together 160 sheep + 80 sheep = 250 sheep",
        FAIL,
        "160 sheep + 80 sheep = 250",
    );
    one(
        "That is 2 hours * 60 minutes = 120 minutes.",
        PASS,
        "2 hours * 60 minutes = 120",
    );
    none("It takes 3 hours + 30 minutes = 3.5 hours");
    none("So 3 feet + 2 feet = 60 inches");
    none("They made 2 dozen * 3 = 72 cookies");
    none("She read 100 pages / 2 pages/1.5 minutes = 75 minutes");
    none("1/4 container = 60/4 pints");
    // Lists are not thousands: 1,2 stays two numbers.
    none("Pick 1,2 + 3 = 4 now");
}

#[test]
fn algebra_and_other_non_arithmetic_gives_no_check() {
    none("We have $3p+e=1.24$ and $5p+e=1.82$.");
    none("So 2x + 3 = 7, hence x = 2.");
    none("x - 3 = 4 means x = 7");
    none("$r_1^2+r_2^2+r_3^2=81$");
    none("f(2+1) = 5");
    none("Then 3! = 6 ways.");
    none("We get \\frac{3}{4} = 0.75 here");
    none("Meet at 3:30 + 2 = 5:30 pm");
    none("3000 students x 1/4 = 750 students");
    none("First test: 70 (70%) - 60 (60%) = 10 questions");
    none("x = 5");
}

#[test]
fn markdown_bullets_and_parentheses() {
    one("- 3 + 4 = 7 apples", PASS, "3 + 4 = 7");
    one("Both (16 - 3 = 13) are left", PASS, "16 - 3 = 13");
    one("Step 2) 3 * 4 = 12.", PASS, "3 * 4 = 12");
    one("Becca: 12+3(34)=114 cards", PASS, "12+3(34)=114");
}

#[test]
fn every_check_says_what_was_computed() {
    let c = &arith::checks("So 16 - 3 = 12 eggs.")[0];
    assert_eq!(c.question, "Is 16 - 3 = 12 right?");
    assert!(c.method.contains("exactly"), "{}", c.method);
    assert_eq!(c.evidence, "16 - 3 = 13, not 12");
    let c = &arith::checks("Each gets 10 / 3 = 3.33 cups.")[0];
    assert!(c.method.contains("within 0.01"), "{}", c.method);
    assert!(
        c.evidence.starts_with("10 / 3 = 10/3 (≈ 3.333333)"),
        "{}",
        c.evidence
    );
}

// ---- final answer ----

fn final_of(text: &str) -> (String, Option<String>) {
    let f = final_answer::extract(text).expect("a final answer");
    let value = f
        .value
        .map(|v| crit::assist::tools::number::show(&v.value) + if v.percent { "%" } else { "" });
    (text[f.span.start..f.span.end].to_string(), value)
}

#[test]
fn final_answer_extraction() {
    let v = |s: &str| Some(s.to_string());
    assert_eq!(final_of("work\n#### 1,200"), ("1,200".into(), v("1200")));
    assert_eq!(final_of("work\nA: 18"), ("18".into(), v("18")));
    assert_eq!(final_of("Answer: $18.00"), ("$18.00".into(), v("18")));
    assert_eq!(final_of("The answer is 5 bucks."), ("5".into(), v("5")));
    assert_eq!(
        final_of("so \\boxed{\\frac{3}{4}}"),
        ("\\frac{3}{4}".into(), v("0.75"))
    );
    assert_eq!(final_of("\\boxed{x = -7}"), ("-7".into(), v("-7")));
    assert_eq!(final_of("It grew by 25%."), ("25%".into(), v("25%")));
    assert_eq!(
        final_of("She has 3 then 2/3 left"),
        ("2/3".into(), v("2/3 (≈ 0.666667)"))
    );
    assert_eq!(final_of("Temp is −4 now"), ("−4".into(), v("-4")));
    // GSM8K's calculator annotation is not the last number; the text is.
    assert_eq!(
        final_of("makes 2 * 9 = <<2*9=18>>18"),
        ("18".into(), v("18"))
    );
    assert_eq!(final_answer::extract("no answer here"), None);
}

fn verdict(answer: &str, reference: &str) -> Option<CheckVerdict> {
    final_answer::check(&task(answer, Some(reference))).map(|c| c.assistant_verdict)
}

#[test]
fn reference_check_normalizes_before_comparing() {
    let gt = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nA: 18";
    assert_eq!(verdict("so 9 * 2 = 18\nA: 18", gt), Some(PASS));
    assert_eq!(verdict("so 13 * 2 = 26\nA: 26", gt), Some(FAIL));
    assert_eq!(verdict("#### 1,200", "1200"), Some(PASS));
    assert_eq!(verdict("Answer: $1,200.00", "#### 1200"), Some(PASS));
    assert_eq!(verdict("It is 20%.", "20"), Some(PASS));
    assert_eq!(verdict("It is 18.0 dollars", "18"), Some(PASS));
    assert_eq!(verdict("\\boxed{\\frac{1}{2}}", "0.5"), Some(PASS));
    assert_eq!(verdict("\\boxed{(2, 3)}", "\\boxed{(2,3)}"), Some(PASS));
    assert_eq!(
        verdict("\\boxed{(2, 4)}", "\\boxed{(2,3)}"),
        Some(CheckVerdict::Unsure)
    );
    // A text reference needs a marked answer; a lone number in prose is not one.
    assert_eq!(
        verdict(
            "Company V made $25 billion in 2021.",
            "Company V ($25 billion)."
        ),
        None
    );
    assert_eq!(verdict("The answer is: True", "true."), Some(PASS));
    assert_eq!(final_answer::check(&task("A: 5", None)), None);
    let c = final_answer::check(&task("so 13 * 2 = 26\nA: 26", Some(gt))).unwrap();
    let s = c.span.unwrap();
    assert_eq!(&"so 13 * 2 = 26\nA: 26"[s.start..s.end], "26");
    assert_eq!(c.evidence, "answer: 26; reference: 18");
}

#[test]
fn checks_entry_point_orders_arith_then_reference() {
    let t = task("12 * 13 = 156. So the answer is 156.", Some("156"));
    let checks = tools::checks(&t);
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c.assistant_verdict == PASS));
    assert_eq!(
        checks[1].question,
        "Does the final answer match the reference?"
    );
    assert!(!tools::TOOL_NAME.is_empty() && !tools::TOOL_VERSION.is_empty());
}

// ---- segmentation ----

/// Every task file of the shared samples (and the bundled ones).
fn task_files() -> Vec<(PathBuf, Option<Format>)> {
    let shared = shared_data();
    let mut files: Vec<(PathBuf, Option<Format>)> = [
        "gsm8k_model_solutions/example_model_solutions.jsonl",
        "prm800k_phase1_test/trajectories.jsonl",
        "halueval_general/sample.jsonl",
        "hh_rlhf_harmless_base_test/sample.jsonl",
        "mt_bench/questions.jsonl",
        "mt_bench/human_pairwise_llmbar.jsonl",
    ]
    .iter()
    .map(|f| (shared.join(f), None))
    .filter(|(p, _)| p.exists())
    .collect();
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for f in ["gsm8k", "prm800k", "halueval", "hh-rlhf", "mt-bench-human"] {
        files.push((local.join(format!("samples/{f}.jsonl")), None));
    }
    files.push((local.join("demo.jsonl"), Some(Format::Native)));
    files
}

fn assert_tiles(id: &str, answer: &str, spans: &[Span]) {
    let mut pos = 0;
    for s in spans {
        assert!(s.start < s.end, "{id}: empty segment {s:?}");
        assert!(s.start >= pos, "{id}: segments overlap or go back at {s:?}");
        assert!(
            answer.is_char_boundary(s.start) && answer.is_char_boundary(s.end),
            "{id}: {s:?} splits a character"
        );
        let text = &answer[s.start..s.end];
        assert_eq!(
            text,
            text.trim(),
            "{id}: segment keeps surrounding whitespace"
        );
        assert!(
            answer[pos..s.start].trim().is_empty(),
            "{id}: text left out before {s:?}"
        );
        pos = s.end;
    }
    assert!(
        answer[pos..].trim().is_empty(),
        "{id}: text left out at the end"
    );
}

#[test]
fn segments_tile_every_answer_of_the_samples() {
    let mut tasks = 0;
    for (path, format) in task_files() {
        let loaded =
            task::load(&path, format, true).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for t in &loaded.tasks {
            let seg = segment_task(t);
            let spans: Vec<Span> = seg.spans().collect();
            assert_tiles(&t.id, &t.answer, &spans);
            if t.steps.is_some() {
                assert_eq!(seg.basis, Basis::Steps, "{}", t.id);
            }
            if let Some(b) = &t.answer_b {
                let spans: Vec<Span> = segment_text(b).spans().collect();
                assert_tiles(&t.id, b, &spans);
            }
            for c in tools::checks(t) {
                let s = c.span.expect("anchored");
                assert!(t.answer.get(s.start..s.end).is_some(), "{}: {s:?}", t.id);
            }
            tasks += 1;
        }
    }
    assert!(tasks >= 20, "only {tasks} tasks read");
}

#[test]
fn prm800k_segments_are_its_steps() {
    let loaded = task::load(
        &data("prm800k_phase1_test/trajectories.jsonl", "prm800k.jsonl"),
        None,
        true, // three trajectories have no chosen step (empty answer)
    )
    .unwrap();
    for t in &loaded.tasks {
        let seg = segment_task(t);
        let steps = t.steps.as_ref().unwrap();
        let own: Vec<usize> = seg.segments.iter().filter_map(|s| s.step).collect();
        let non_blank: Vec<usize> = (0..steps.len())
            .filter(|&i| !t.step_text(i).unwrap().trim().is_empty())
            .collect();
        assert_eq!(own, non_blank, "{}", t.id);
    }
}

// ---- the shared GSM8K and PRM800K samples ----

/// Calculations in solutions auto-graded correct that are nonetheless
/// wrong as written (checked by hand): the final answer came out right
/// anyway. A failing check there is a hit, not a false alarm.
const WRONG_IN_CORRECT_SOLUTIONS: [(&str, &str); 12] = [
    (
        "gsm8k-184-6b_verification",
        "1 - 1 - 1 - 1 - 1 - 1 - 1 - 1 = 0.01",
    ),
    ("gsm8k-184-6b_verification", "1/6 * 0.01 = 0.0025"),
    (
        "gsm8k-308-175b_finetuning",
        "$0.5 - $0.4 = $<<0.5-0.4=0.09999999999999998>>0.5",
    ),
    ("gsm8k-350-175b_finetuning", "3/2 = <<1/2=0.5>>0.5"),
    ("gsm8k-459-6b_verification", "4 + 3 + 4 = <<22+4+1=27>>27"),
    (
        "gsm8k-580-175b_verification",
        "520 x (1 + 0.18) = <<520*(1+0.18)=500>>500",
    ),
    ("gsm8k-684-6b_finetuning", "30 / 11 = <<11=11>>11"),
    ("gsm8k-704-175b_verification", "$100/ 3 + $100/2 = $100/5"),
    ("gsm8k-798-175b_verification", "$220.00 – $210.00 = $20.00"),
    ("gsm8k-890-175b_verification", "25/75 x 100% = 25%"),
    ("gsm8k-1099-6b_verification", "5-3=<<5-3=2.5>>2.5"),
    (
        "gsm8k-1159-6b_finetuning",
        "2 wearers / 8 wearers * 100% = 50%",
    ),
];

#[test]
fn gsm8k_reference_check_matches_the_grades_and_arith_has_no_false_alarm() {
    let path = data(
        "gsm8k_model_solutions/example_model_solutions.jsonl",
        "gsm8k.jsonl",
    );
    let loaded = task::load(&path, Some(Format::Gsm8k), false).unwrap();
    let (mut wrong, mut caught, mut right, mut arith_hits, mut wrong_with_arith) = (0, 0, 0, 0, 0);
    for t in &loaded.tasks {
        let correct = gsm8k::is_correct(t).unwrap();
        let checks = tools::checks(t);
        let reference = checks.last().expect("every GSM8K task has a reference");
        assert_eq!(
            reference.question,
            "Does the final answer match the reference?"
        );
        let failing_arith: Vec<String> = checks[..checks.len() - 1]
            .iter()
            .filter(|c| c.assistant_verdict == FAIL)
            .map(|c| anchored(&t.answer, c))
            .collect();
        arith_hits += failing_arith.len();
        if correct {
            right += 1;
            assert_ne!(
                reference.assistant_verdict, FAIL,
                "{}: {}",
                t.id, reference.evidence
            );
            for text in failing_arith {
                assert!(
                    WRONG_IN_CORRECT_SOLUTIONS.contains(&(t.id.as_str(), text.as_str())),
                    "{}: false alarm on {text:?}",
                    t.id
                );
            }
        } else {
            wrong += 1;
            let ours = final_answer::extract(&t.answer).and_then(|f| f.value);
            let theirs = final_answer::extract_reference(t.reference.as_ref().unwrap())
                .and_then(|f| f.value)
                .unwrap();
            if ours.is_none_or(|v| !final_answer::same_value(&v, &theirs)) {
                assert_eq!(
                    reference.assistant_verdict, FAIL,
                    "{}: {}",
                    t.id, reference.evidence
                );
                caught += 1;
            }
            wrong_with_arith += usize::from(!failing_arith.is_empty());
        }
    }
    eprintln!(
        "gsm8k: {right} correct solutions, 0 failing reference checks; {wrong} incorrect, \
         {caught} caught by the reference check, {wrong_with_arith} with a failing arithmetic \
         check; {arith_hits} failing arithmetic checks in all"
    );
    assert!(right > 0 && wrong > 0 && caught > 0);
}

#[test]
fn prm800k_arith_failures_sit_on_steps_rated_bad_or_later() {
    let path = data("prm800k_phase1_test/trajectories.jsonl", "prm800k.jsonl");
    let loaded = task::load(&path, None, true).unwrap();
    let (mut fails, mut on_bad, mut all_good_fails, mut all_good) = (0, 0, 0, 0);
    for t in &loaded.tasks {
        let ratings = prm800k::ratings(t).unwrap_or_default();
        let good = ratings.iter().all(|r| r.is_some_and(|r| r >= 0));
        all_good += usize::from(good);
        let seg = segment_task(t);
        for c in arith::checks(&t.answer) {
            if c.assistant_verdict != FAIL {
                continue;
            }
            fails += 1;
            all_good_fails += usize::from(good);
            let step = seg
                .index_at(c.span.unwrap().start)
                .and_then(|i| seg.segments[i].step);
            let rating = step.and_then(|i| ratings.get(i).copied().flatten());
            on_bad += usize::from(rating == Some(-1));
        }
    }
    eprintln!(
        "prm800k: {} trajectories ({all_good} with no step rated -1); {fails} failing arithmetic \
         checks, {on_bad} on a step rated -1, {all_good_fails} on trajectories with no -1 step",
        loaded.tasks.len()
    );
    assert_eq!(
        all_good_fails, 0,
        "failing check on a trajectory with no bad step"
    );
}

#[test]
fn long_and_hostile_answers_are_safe() {
    let long = "So 12 + 30 = 42 and 1,000 * 3 = 3,000.\n".repeat(5_000);
    let digits = format!("{} ^ 64 = 1 and 9^9^9 = 2", "9".repeat(20_000));
    assert_eq!(arith::checks(&long).len(), 10_000);
    // Powers too big to compute exactly give no check (not a hang).
    assert_eq!(arith::checks(&digits), []);
    assert!(final_answer::extract(&long).is_some());
    for text in [
        "<<", "<<1+1=>>", "<<=2>>3", "$", "\\", "((((", "1/0 = 5", "=", "½½ = 1",
    ] {
        let _ = tools::checks(&task(text, Some(text)));
    }
}

#[test]
fn percent_results_are_shown_as_percents() {
    let c = &arith::checks("P = 58% + 45% - 22% = 81% here")[0];
    assert_eq!(c.evidence, "58% + 45% - 22% = 81%, as written");
    let c = &arith::checks("A share of 0.2 * 100 = 20% of all.")[0];
    assert_eq!(c.evidence, "0.2 * 100 = 20, as written");
    let c = &arith::checks("Then 100% - 20% = 70% remain.")[0];
    assert_eq!(c.evidence, "100% - 20% = 80%, not 70%");
}

#[test]
fn check_span_is_optional_on_disk() {
    let old = r#"{"question":"q","method":"m","assistant_verdict":"pass","evidence":"e"}"#;
    let c: Check = serde_json::from_str(old).unwrap();
    assert_eq!(c.span, None);
    assert_eq!(serde_json::to_string(&c).unwrap(), old);
    let with = arith::checks("So 2 + 2 = 4.").remove(0);
    let json = serde_json::to_value(&with).unwrap();
    assert_eq!(json["span"], serde_json::json!({"start": 3, "end": 12}));
}
