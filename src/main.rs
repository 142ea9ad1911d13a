use std::process::ExitCode;

use meshpeers::error::{self, exit};

fn main() -> ExitCode {
    match meshpeers::commands::run(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(err) if error::is_broken_pipe(&err) => ExitCode::from(exit::SUCCESS),
        Err(err) => {
            // Messages can quote store content (origins, keys): escape terminal controls.
            eprintln!(
                "meshpeers: error: {}",
                meshpeers::output::escape_lines(&format!("{err:#}"))
            );
            if let Some(hint) = error::hint(&err) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(error::exit_code(&err))
        }
    }
}
