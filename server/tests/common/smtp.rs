//! A real SMTP listener for tests: speaks enough of RFC 5321 for lettre, keeps what it
//! receives, and can go down and come back on the same port to stage outages.
// Shared by the test crates and the outbox benchmark, which each use a part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parseable message")
    }

    pub fn to(&self) -> String {
        self.recipients.join(",")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_string()
    }

    /// The token of the patron link in the message, if it has one.
    pub fn link_token(&self) -> Option<String> {
        let text = self.text();
        let start = text.find("/c/")? + 3;
        Some(
            text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    accept: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Open connections, cut when the sink goes down, as a real outage would.
    sessions: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Pause before answering the end of DATA, to hold a worker mid-send.
    delay: Arc<Mutex<Duration>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let sink = SmtpSink {
            addr,
            received: Arc::default(),
            accept: Arc::default(),
            sessions: Arc::default(),
            delay: Arc::default(),
        };
        sink.listen(listener);
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    fn listen(&self, listener: TcpListener) {
        let received = self.received.clone();
        let delay = self.delay.clone();
        let sessions = self.sessions.clone();
        let handle = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handle = tokio::spawn(session(stream, received.clone(), delay.clone()));
                let mut open = sessions.lock().unwrap();
                open.retain(|h| !h.is_finished());
                open.push(handle);
            }
        });
        *self.accept.lock().unwrap() = Some(handle);
    }

    /// Stops listening and cuts open connections: new ones are refused until `up`.
    pub fn down(&self) {
        if let Some(handle) = self.accept.lock().unwrap().take() {
            handle.abort();
        }
        for session in self.sessions.lock().unwrap().drain(..) {
            session.abort();
        }
    }

    pub async fn up(&self) {
        let mut tries = 0;
        loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => return self.listen(listener),
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot rebind the SMTP sink: {e}"),
            }
        }
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.received.lock().unwrap().clear();
    }

    pub fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.recipients.iter().any(|a| a.eq_ignore_ascii_case(address)))
            .collect()
    }

    pub fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = self.received().iter().map(Received::to).collect();
        all.sort();
        all
    }
}

async fn session(
    stream: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    delay: Arc<Mutex<Duration>>,
) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write
        .write_all(b"220 sink.test ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO")
            || command.starts_with("MAIL FROM")
            || command.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if command.starts_with("RSET") {
            recipients.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let raw = line.trim_end();
            let start = raw.find('<').map(|i| i + 1).unwrap_or(8);
            let end = raw.rfind('>').unwrap_or(raw.len());
            recipients.push(raw[start..end].to_string());
            b"250 OK\r\n"
        } else if command == "DATA" {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = Vec::new();
            loop {
                let mut body_line = String::new();
                match lines.read_line(&mut body_line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if body_line == ".\r\n" || body_line == ".\n" {
                    break;
                }
                let unstuffed = body_line
                    .strip_prefix('.')
                    .filter(|_| body_line.starts_with(".."))
                    .unwrap_or(&body_line);
                data.extend_from_slice(unstuffed.as_bytes());
            }
            let pause = *delay.lock().unwrap();
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            received.lock().unwrap().push(Received {
                recipients: std::mem::take(&mut recipients),
                data,
            });
            b"250 queued\r\n"
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
