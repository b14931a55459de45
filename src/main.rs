use clap::Parser;

fn main() {
    let cli = crit::cli::Cli::parse();
    crit::cli::logging::init();
    if let Err(err) = crit::cli::run(cli) {
        let code = crit::cli::exit_code(&err);
        if code != 130 {
            eprintln!("error: {err:#}"); // an interruption was already reported
        }
        std::process::exit(code);
    }
}
