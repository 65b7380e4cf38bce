//! HTTP clients that behave like the dashboard and the patron's browser: same-origin form
//! posts, with the headers a browser sends.

use std::time::{Duration, Instant};

use crate::BenchResult;

/// A signed-in admin on one server instance.
#[derive(Clone)]
pub struct AdminClient {
    pub base_url: String,
    http: reqwest::Client,
}

pub fn browser() -> BenchResult<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?)
}

impl AdminClient {
    pub async fn sign_in(base_url: &str, email: &str, password: &str) -> BenchResult<Self> {
        let client = AdminClient {
            base_url: base_url.to_string(),
            http: browser()?,
        };
        let (status, body, _) = client
            .call("sign_in", &[("email", email), ("password", password)])
            .await?;
        if status >= 400 {
            return Err(format!("sign-in at {base_url} failed: {status} {body}").into());
        }
        Ok(client)
    }

    /// Calls a server function as the dashboard's forms do; the status, body and time.
    pub async fn call(
        &self,
        name: &str,
        form: &[(&str, &str)],
    ) -> BenchResult<(u16, String, Duration)> {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/api/{name}", self.base_url))
            .header("origin", &self.base_url)
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .form(form)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        Ok((status, body, started.elapsed()))
    }

    /// The dashboard's live stream.
    pub async fn events(&self) -> BenchResult<reqwest::Response> {
        let response = self
            .http
            .get(format!("{}/events", self.base_url))
            .timeout(Duration::from_secs(3600))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("the live stream answered {}", response.status()).into());
        }
        Ok(response)
    }
}

/// The patron's browser posting a decision from the page at `/c/{token}`.
pub async fn decide(
    http: &reqwest::Client,
    base_url: &str,
    token: &str,
    action: &str,
) -> BenchResult<(u16, Duration)> {
    let started = Instant::now();
    let response = http
        .post(format!("{base_url}/c/{token}"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("action", action), ("lang", "en")])
        .send()
        .await?;
    let status = response.status().as_u16();
    let _ = response.bytes().await?;
    Ok((status, started.elapsed()))
}
