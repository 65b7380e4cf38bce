//! The report: every figure with its unit, as Markdown for people and JSON for tools.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};
use sqlx::PgPool;

use crate::{BenchResult, Options};

pub struct Report {
    json: Map<String, Value>,
    markdown: String,
}

impl Report {
    pub async fn new(options: &Options) -> BenchResult<Self> {
        let mut report = Report {
            json: Map::new(),
            markdown: String::from("# Assent benchmark report\n"),
        };
        report.json.insert(
            "options".into(),
            json!({
                "patrons": options.patrons,
                "clients": options.clients,
                "changes": options.changes,
                "searches": options.searches,
                "live_samples": options.live_samples,
                "outbox_workers_per_instance": options.outbox_workers,
                "smtp_outage_secs": options.smtp_outage_secs,
            }),
        );
        Ok(report)
    }

    pub async fn machine(&mut self, pool: &PgPool) -> BenchResult<()> {
        let (postgres,): (String,) = sqlx::query_as("SELECT version()").fetch_one(pool).await?;
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_default();
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .next()
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
            })
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb / 1024 / 1024)
            .unwrap_or_default();
        let command = |program: &str, args: &[&str]| {
            std::process::Command::new(program)
                .args(args)
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default()
        };
        let machine = json!({
            "started_at": chrono::Utc::now().to_rfc3339(),
            "cpu": cpu,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "memory_gib": memory,
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
            "postgres": postgres,
            "rustc": command("rustc", &["--version"]),
            "commit": command("git", &["rev-parse", "--short", "HEAD"]),
        });
        let _ = writeln!(self.markdown, "\n## Machine and versions\n");
        for (key, value) in machine.as_object().into_iter().flatten() {
            let _ = writeln!(
                self.markdown,
                "- {key}: {}",
                value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or(value.to_string())
            );
        }
        self.json.insert("machine".into(), machine);
        Ok(())
    }

    pub fn section(&mut self, title: &str) {
        println!("\n== {title}");
        let _ = writeln!(self.markdown, "\n## {title}\n");
    }

    /// A figure: its key in the JSON, its value, unit, and a line for people.
    pub fn figure(&mut self, key: &str, value: impl Into<Value>, unit: &str, label: &str) {
        let value = value.into();
        let shown = match &value {
            Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or_default()),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!("  {label}: {shown} {unit}");
        let _ = writeln!(self.markdown, "- {label}: **{shown}** {unit}");
        self.json.insert(
            key.to_string(),
            json!({ "value": value, "unit": unit, "label": label }),
        );
    }

    /// Latency percentiles of one operation, in milliseconds.
    pub fn latencies(&mut self, key: &str, label: &str, samples: &mut [Duration]) {
        let stats = Percentiles::of(samples);
        println!(
            "  {label}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n = {})",
            stats.p50, stats.p95, stats.p99, stats.max, stats.n
        );
        let _ = writeln!(
            self.markdown,
            "- {label}: p50 **{:.2}** ms, p95 **{:.2}** ms, p99 **{:.2}** ms, max {:.2} ms (n = {})",
            stats.p50, stats.p95, stats.p99, stats.max, stats.n
        );
        self.json.insert(
            key.to_string(),
            json!({ "label": label, "unit": "ms", "p50": stats.p50, "p95": stats.p95,
                    "p99": stats.p99, "max": stats.max, "n": stats.n }),
        );
    }

    /// A fault drill's outcome, with the figures that back it.
    pub fn drill(&mut self, key: &str, label: &str, passed: bool, figures: Value) {
        let verdict = if passed { "PASS" } else { "FAIL" };
        println!("  {label}: {verdict} {figures}");
        let _ = writeln!(self.markdown, "- {label}: **{verdict}**");
        for (name, value) in figures.as_object().into_iter().flatten() {
            let _ = writeln!(self.markdown, "  - {name}: {value}");
        }
        self.json.insert(
            key.to_string(),
            json!({ "label": label, "passed": passed, "figures": figures }),
        );
    }

    pub fn note(&mut self, text: &str) {
        println!("  {text}");
        let _ = writeln!(self.markdown, "\n{text}\n");
    }

    pub fn write(&self, dir: &Path) -> BenchResult<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.md"), &self.markdown)?;
        std::fs::write(
            dir.join("report.json"),
            serde_json::to_string_pretty(&Value::Object(self.json.clone()))?,
        )?;
        Ok(())
    }
}

pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub n: usize,
}

impl Percentiles {
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |q: f64| {
            if samples.is_empty() {
                return 0.0;
            }
            // Nearest rank.
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            ms(samples[rank - 1])
        };
        Percentiles {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: samples.last().copied().map(ms).unwrap_or_default(),
            n: samples.len(),
        }
    }
}
