//! `assent`: serve (the default), migrate, or create an admin.

use clap::Parser;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use server::configuration::{Cli, Command, CreateAdmin, ProposeArgs};
use server::startup::Application;
use server::{admins, database, seed, telemetry};

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    // A missing .env is normal; a broken one is worth saying.
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            eprintln!("assent: warning: .env was not read: {error}");
        }
    }
    let cli = Cli::parse();
    telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("assent: error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("assent: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Each password hash takes a 19 MiB block. glibc raises its mmap threshold after the
/// first such block is freed, so later ones come from per-thread arenas and stay resident:
/// measured, 32 sign-ins left the server at 485 MiB instead of 17. A fixed threshold keeps
/// blocks over 1 MiB in their own mappings, returned to the system when freed.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it runs before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let application = Application::build(&config)
                .await
                .map_err(|e| e.to_string())?;
            let url = &application.state.settings.public_url;
            println!(
                "Assent is listening on http://{} (links point at {url})",
                application.addr
            );
            if config.development() && config.demo_data {
                if application.seeded() {
                    println!("Seeded demo data: 48 patrons and a demo manager.");
                }
                println!(
                    "Demo admin (development only): {} / {}",
                    seed::DEMO_ADMIN_EMAIL,
                    seed::DEMO_ADMIN_PASSWORD
                );
            }
            if application.state.mailer.mailbox_dir().is_some() {
                println!(
                    "No SMTP_URL: messages go to the development mailbox at {url}/dev/mailbox"
                );
            }
            application.run().await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let pool = database::connect(&config.database_url)
                .await
                .map_err(|e| e.to_string())?;
            database::migrate(&pool).await.map_err(|e| e.to_string())?;
            println!("The database is up to date.");
            Ok(())
        }
        Command::CreateAdmin(args) => create_admin(&config.database_url, args).await,
        Command::Propose(args) => propose(&config, args).await,
        Command::CompressAssets => {
            let dir = std::path::Path::new(&config.site_root).join("pkg");
            let done = server::assets::compress_dir(&dir)
                .map_err(|e| format!("cannot compress the assets in {}: {e}", dir.display()))?;
            for c in &done {
                println!(
                    "{}: {} bytes, gzip {}, brotli {}",
                    c.file.display(),
                    c.raw,
                    c.gzip,
                    c.brotli
                );
            }
            Ok(())
        }
    }
}

async fn create_admin(database_url: &str, args: CreateAdmin) -> Result<(), String> {
    let password = read_password(args.password_stdin)?;
    let pool = database::connect(database_url)
        .await
        .map_err(|e| e.to_string())?;
    database::migrate(&pool).await.map_err(|e| e.to_string())?;
    let role = app::auth::Role::from(args.role);
    let id = admins::create_admin(&pool, &args.email, &args.name, role, &password)
        .await
        .map_err(|e| e.to_string())?;
    println!("Created admin #{id} ({}).", role.as_str());
    Ok(())
}

async fn propose(config: &server::configuration::Config, args: ProposeArgs) -> Result<(), String> {
    let settings = config.settings().map_err(|e| e.to_string())?;
    let pool = database::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    database::migrate(&pool).await.map_err(|e| e.to_string())?;
    let id = admins::propose_as(
        &pool,
        &settings,
        &args.admin,
        &args.patron,
        &args.new_email,
        &args.reason,
    )
    .await
    .map_err(|e| e.to_string())?;
    println!("Proposed change request #{id}; the patron has been asked to approve it.");
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<String, String> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    print!("Password for the new admin (at least 12 characters): ");
    let _ = std::io::stdout().flush();
    rpassword::read_password().map_err(|e| format!("cannot read the password: {e}"))
}
