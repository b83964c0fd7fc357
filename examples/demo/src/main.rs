//! `authmount-demo`: see the library crate [`authmount_demo`] for flags, configuration and
//! environment variables, or run `authmount-demo --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = authmount_demo::cli::Cli::parse();
    authmount_demo::init_logging();
    match authmount_demo::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("authmount-demo: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
