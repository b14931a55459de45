use clap::Parser;

fn main() {
    let cli = crit::cli::Cli::parse();
    crit::cli::logging::init();
    if let Err(err) = crit::cli::run(cli) {
        let code = crit::cli::exit_code(&err);
        eprintln!("error: {err:#}");
        std::process::exit(code);
    }
}
