//! Two release `assent` processes on one database, as behind a load balancer.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{BenchResult, Options};

pub struct Server {
    pub base_url: String,
    port: u16,
    child: Child,
}

impl Server {
    fn status_field(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| kb / 1024.0)
            .unwrap_or_default()
    }

    /// Resident memory now.
    pub fn rss_mib(&self) -> f64 {
        self.status_field("VmRSS:")
    }

    /// The most resident memory the process has had (the kernel's high-water mark).
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_field("VmHWM:")
    }
}

pub struct Cluster {
    pub servers: Vec<Server>,
    options: Options,
    smtp_url: String,
}

impl Cluster {
    pub async fn start(options: &Options, smtp_url: &str) -> BenchResult<Self> {
        let mut cluster = Cluster {
            servers: Vec::new(),
            options: options.clone(),
            smtp_url: smtp_url.to_string(),
        };
        for i in 0..2u16 {
            let server = cluster.spawn(options.port + i)?;
            cluster.servers.push(server);
        }
        for server in &cluster.servers {
            wait_ready(&server.base_url, Duration::from_secs(60)).await?;
        }
        Ok(cluster)
    }

    fn spawn(&self, port: u16) -> BenchResult<Server> {
        let base_url = format!("http://127.0.0.1:{port}");
        let child = Command::new(&self.options.binary)
            .arg("serve")
            .env("DATABASE_URL", self.options.database_url())
            .env("ASSENT_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_URL", &base_url)
            .env("ASSENT_ENV", "production")
            .env("ASSENT_DEMO_DATA", "false")
            .env("SMTP_URL", &self.smtp_url)
            .env("LEPTOS_SITE_ROOT", &self.options.site_root)
            .env("OUTBOX_WORKERS", self.options.outbox_workers.to_string())
            .env("OUTBOX_POLL_MS", "50")
            // Every benchmark client shares one address; the limit has its own test.
            .env("PATRON_RATE_BURST", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {}: {e}; build it with `cargo leptos build --release`",
                    self.options.binary.display()
                )
            })?;
        Ok(Server {
            base_url,
            port,
            child,
        })
    }

    /// `kill -9`: no shutdown, no flushing, open transactions left to PostgreSQL.
    pub fn kill(&mut self, index: usize) {
        let _ = self.servers[index].child.kill();
        let _ = self.servers[index].child.wait();
    }

    pub async fn restart(&mut self, index: usize) -> BenchResult<Duration> {
        let started = Instant::now();
        let port = self.servers[index].port;
        self.servers[index] = self.spawn(port)?;
        wait_ready(&self.servers[index].base_url, Duration::from_secs(60)).await?;
        Ok(started.elapsed())
    }

    pub fn stop(&mut self) {
        for server in &mut self.servers {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

pub async fn wait_ready(base_url: &str, limit: Duration) -> BenchResult<()> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("{base_url}/readyz")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if started.elapsed() > limit {
            return Err(format!("{base_url} not ready after {limit:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
