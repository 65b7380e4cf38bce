//! A fresh database, a million patrons through COPY, and the admins the clients sign in as.

use std::time::Instant;

use app::auth::Role;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::report::Report;
use crate::{BenchResult, Options};

pub const PASSWORD: &str = "bench-password-long-enough";
pub const AGENT: &str = "agent@bench.example";
pub const MANAGER: &str = "manager@bench.example";

const FIRST: [&str; 40] = [
    "Ana", "Bruno", "Carmen", "Diego", "Elena", "Farid", "Grace", "Hugo", "Inés", "Jonas", "Keiko",
    "Lucía", "Mateo", "Nadia", "Óscar", "Paula", "Quentin", "Rosa", "Samuel", "Teresa", "Ulises",
    "Valeria", "Walter", "Ximena", "Yusuf", "Zoe", "Amir", "Beatriz", "Chen", "Dalia", "Emil",
    "Fatima", "Gustavo", "Hana", "Ivan", "Julia", "Kofi", "Laura", "Miguel", "Noor",
];
const LAST: [&str; 50] = [
    "García",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Smith",
    "Rossi",
    "Novak",
    "Kowalski",
    "Silva",
    "Tanaka",
    "Müller",
    "Dubois",
    "Nakamura",
    "Fernández",
    "Olsen",
    "Haddad",
    "Kim",
    "Nguyen",
    "Petrov",
    "Schmidt",
    "Costa",
    "Jensen",
    "Ivanova",
    "Mensah",
    "Ahmed",
    "Bianchi",
    "Castro",
    "Dimitrov",
    "Eriksen",
    "Fischer",
    "Gomez",
    "Horvat",
    "Ibrahim",
    "Jovanović",
    "Kaya",
    "López",
    "Martin",
    "Nielsen",
    "Ortiz",
    "Popescu",
    "Quispe",
    "Ramos",
    "Santos",
    "Torres",
    "Urbina",
    "Vargas",
    "Weber",
    "Yilmaz",
    "Zhang",
    "Abara",
];

/// The patron with sequence number `i`: a plausible name, and an email unique by `i`.
pub fn patron(i: usize) -> (String, String, &'static str) {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let ascii = |s: &str| {
        s.chars()
            .map(|c| match c {
                'á' | 'à' => 'a',
                'é' | 'è' => 'e',
                'í' => 'i',
                'ó' | 'Ó' => 'o',
                'ú' | 'ü' => 'u',
                'ñ' => 'n',
                'ć' => 'c',
                c => c,
            })
            .collect::<String>()
            .to_lowercase()
    };
    let domain = [
        "example.org",
        "example.net",
        "mail.example",
        "correo.example",
    ][i % 4];
    let locale = if i.is_multiple_of(3) { "es" } else { "en" };
    (
        format!("{first} {last}"),
        format!("{}.{}{}@{domain}", ascii(first), ascii(last), i),
        locale,
    )
}

pub async fn fresh_database(options: &Options) -> BenchResult<PgPool> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{}/postgres", options.database_server))
        .await?;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        options.database
    ))
    .execute(&admin)
    .await?;
    admin.close().await;
    let url = options.database_url();
    server::database::connect(&url).await?;
    let pool = PgPoolOptions::new()
        .max_connections((options.clients + 8) as u32)
        .connect(&url)
        .await?;
    server::database::migrate(&pool).await?;
    Ok(pool)
}

/// COPY in batches, with the indexes in place, as a venue importing its list would.
pub async fn patrons(pool: &PgPool, options: &Options, report: &mut Report) -> BenchResult<()> {
    const BATCH: usize = 50_000;
    let bar = ProgressBar::new(options.patrons as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "  seeding [{bar:40}] {pos}/{len} patrons, {per_sec}, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let mut done = 0;
    while done < options.patrons {
        let end = (done + BATCH).min(options.patrons);
        let mut data = String::with_capacity((end - done) * 64);
        for i in done..end {
            let (name, email, locale) = patron(i);
            data.push_str(&name);
            data.push('\t');
            data.push_str(&email);
            data.push('\t');
            data.push_str(locale);
            data.push('\n');
        }
        let mut copy = conn
            .copy_in_raw("COPY patrons (name, email, locale) FROM STDIN")
            .await?;
        copy.send(data.into_bytes()).await?;
        copy.finish().await?;
        done = end;
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    let copy_secs = started.elapsed().as_secs_f64();
    let analysed = Instant::now();
    sqlx::query("ANALYZE patrons").execute(&mut *conn).await?;
    report.figure(
        "seed_patrons",
        options.patrons as u64,
        "rows",
        "Patrons seeded",
    );
    report.figure(
        "seed_seconds",
        copy_secs,
        "s",
        "COPY time, indexes maintained",
    );
    report.figure(
        "seed_rows_per_second",
        options.patrons as f64 / copy_secs,
        "rows/s",
        "Seeding rate",
    );
    report.figure(
        "seed_analyze_seconds",
        analysed.elapsed().as_secs_f64(),
        "s",
        "ANALYZE afterwards",
    );
    Ok(())
}

pub struct Admins {
    pub agent: i64,
}

pub async fn admins(pool: &PgPool) -> BenchResult<Admins> {
    let agent =
        server::admins::create_admin(pool, AGENT, "Bench Agent", Role::Agent, PASSWORD).await?;
    server::admins::create_admin(pool, MANAGER, "Bench Manager", Role::Manager, PASSWORD).await?;
    Ok(Admins { agent })
}
