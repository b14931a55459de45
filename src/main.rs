use clap::Parser;

fn main() {
    let cli = match crit::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    crit::cli::logging::init();
    if let Err(err) = crit::cli::run(cli) {
        let code = crit::cli::exit_code(&err);
        if code != 130 {
            // An interruption was already reported. Errors quote task ids,
            // paths and session names: sanitized like all terminal output.
            eprintln!("error: {}", crit::sanitize::sanitize(&format!("{err:#}")));
        }
        std::process::exit(code);
    }
}

/// Help and version as clap prints them; a usage error (which quotes the
/// argument given) sanitized, exit code 2.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    eprint!("{}", crit::sanitize::sanitize(&text));
    std::process::exit(2);
}
