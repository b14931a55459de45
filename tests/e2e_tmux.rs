//! Runs tests/e2e_tmux.sh: the real binary with the real default model in
//! tmux (streamed critiques, labels, verdicts, quit, reopen, resume).
//! `make test` installs tmux first; a missing tmux fails, never skips.

#[test]
fn review_end_to_end_in_tmux_with_the_real_model() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("bash")
        .arg(format!("{root}/tests/e2e_tmux.sh"))
        .current_dir(root)
        .env("BIN", env!("CARGO_BIN_EXE_crit"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "e2e failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("e2e: session ok"), "{stdout}");
}
