//! `crit sessions`: list sessions with task and event counts.

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let rows = crate::session::list_sessions(&ctx.sessions_dir);
    if rows.is_empty() {
        let dir = crate::sanitize::sanitize_line(&ctx.sessions_dir.display().to_string());
        eprintln!("no sessions in {dir}");
        return Ok(());
    }
    println!("{:<32} {:>6} {:>7}  PATH", "SESSION", "TASKS", "EVENTS");
    use crate::sanitize::sanitize_line;
    for row in rows {
        let name = sanitize_line(&row.name);
        let path = sanitize_line(&row.dir.display().to_string());
        match row.error {
            None => println!("{name:<32} {:>6} {:>7}  {path}", row.tasks, row.events),
            Some(e) => println!(
                "{name:<32} {:>6} {:>7}  {path} (unreadable: {})",
                "-",
                "-",
                sanitize_line(&e)
            ),
        }
    }
    Ok(())
}
