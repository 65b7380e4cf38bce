//! The words of every message, in each locale, rendered once as plain text and once as
//! branded HTML from the same blocks, so the two parts never disagree.

use chrono::{DateTime, Utc};

use super::MessageKind;
use crate::changes::RequestStatus;
use crate::email::mask;
use crate::locale::Locale;
use crate::settings::Brand;

/// What a message may speak of. Everything here comes from the database at send time.
pub struct MessageContext<'a> {
    pub kind: MessageKind,
    pub locale: Locale,
    pub request_id: i64,
    pub patron_id: i64,
    pub patron_name: &'a str,
    pub old_email: &'a str,
    pub new_email: &'a str,
    pub reason: &'a str,
    pub status: RequestStatus,
    pub cancelled_by: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
    /// The link for proposal messages; outcome messages carry none.
    pub link: Option<&'a str>,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

enum Block {
    Para(String),
    Quote(String),
    Button { label: String, url: String },
}

pub fn render(ctx: &MessageContext<'_>, brand: &Brand) -> Rendered {
    let (subject, blocks) = words(ctx, brand);
    let footer = match ctx.locale {
        Locale::En => format!(
            "This message was sent by {} through Assent. Questions: {}",
            brand.org_name, brand.support_email
        ),
        Locale::Es => format!(
            "Este mensaje lo envió {} a través de Assent. Consultas: {}",
            brand.org_name, brand.support_email
        ),
    };
    Rendered {
        text: render_text(&blocks, &footer),
        html: render_html(&subject, &blocks, &footer, brand, ctx.locale),
        subject,
    }
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn words(ctx: &MessageContext<'_>, brand: &Brand) -> (String, Vec<Block>) {
    use Block::*;
    let org = &brand.org_name;
    let name = ctx.patron_name;
    let link = ctx.link.unwrap_or_default().to_string();
    let old_masked = mask(ctx.old_email);
    let new_masked = mask(ctx.new_email);
    let expires = when(ctx.expires_at);
    match (ctx.kind, ctx.locale) {
        (MessageKind::ProposalToNew, Locale::En) => (
            format!("Please confirm your new email address for {org}"),
            vec![
                Para(format!("Hello {name},")),
                Para(format!(
                    "{org} has asked to change the email address on your account from {old_masked} to this address, {}.",
                    ctx.new_email
                )),
                Para(format!("The reason {org} gave:")),
                Quote(ctx.reason.to_string()),
                Para("Nothing changes until you decide. Open the page below to approve or reject the change.".into()),
                Button { label: "Review the change".into(), url: link },
                Para(format!("The link works once and expires on {expires}. If you did not expect this, reject it and contact {}.", brand.support_email)),
            ],
        ),
        (MessageKind::ProposalToNew, Locale::Es) => (
            format!("Confirme su nueva dirección de correo para {org}"),
            vec![
                Para(format!("Hola, {name}:")),
                Para(format!(
                    "{org} ha pedido cambiar la dirección de correo de su cuenta de {old_masked} a esta dirección, {}.",
                    ctx.new_email
                )),
                Para(format!("El motivo que indicó {org}:")),
                Quote(ctx.reason.to_string()),
                Para("Nada cambia hasta que usted decida. Abra la página siguiente para aprobar o rechazar el cambio.".into()),
                Button { label: "Revisar el cambio".into(), url: link },
                Para(format!("El enlace sirve una sola vez y caduca el {expires}. Si no esperaba este mensaje, rechace el cambio y escriba a {}.", brand.support_email)),
            ],
        ),
        (MessageKind::ProposalToOld, Locale::En) => (
            format!("A change of your email address was requested at {org}"),
            vec![
                Para(format!("Hello {name},")),
                Para(format!(
                    "{org} was asked to change the email address on your account from this address to {new_masked}. The change happens only if it is approved from the new address."
                )),
                Para("If you asked for this, there is nothing to do here.".into()),
                Para("If this wasn't you, tell us. The request will be cancelled and the venue alerted.".into()),
                Button { label: "This wasn't me".into(), url: link },
                Para(format!("This link expires on {expires}.")),
            ],
        ),
        (MessageKind::ProposalToOld, Locale::Es) => (
            format!("Se pidió cambiar su dirección de correo en {org}"),
            vec![
                Para(format!("Hola, {name}:")),
                Para(format!(
                    "Se pidió a {org} cambiar la dirección de correo de su cuenta de esta dirección a {new_masked}. El cambio solo ocurre si se aprueba desde la nueva dirección."
                )),
                Para("Si usted lo pidió, no tiene que hacer nada.".into()),
                Para("Si no fue usted, avísenos. La solicitud se cancelará y se avisará al recinto.".into()),
                Button { label: "No fui yo".into(), url: link },
                Para(format!("Este enlace caduca el {expires}.")),
            ],
        ),
        (MessageKind::OutcomeToPatron, Locale::En) => match ctx.status {
            RequestStatus::Approved => (
                format!("Your email address for {org} has changed"),
                vec![
                    Para(format!("Hello {name},")),
                    Para(format!("You approved the change. Your email address for {org} is now {new_masked}; messages will go there from now on.")),
                    Para(format!("If you did not approve this, contact {} at once.", brand.support_email)),
                ],
            ),
            _ => (
                format!("You rejected a change of your email address at {org}"),
                vec![
                    Para(format!("Hello {name},")),
                    Para(format!("You rejected the change. Your email address for {org} stays {old_masked}.")),
                    Para(format!("If you have questions, contact {}.", brand.support_email)),
                ],
            ),
        },
        (MessageKind::OutcomeToPatron, Locale::Es) => match ctx.status {
            RequestStatus::Approved => (
                format!("Su dirección de correo para {org} ha cambiado"),
                vec![
                    Para(format!("Hola, {name}:")),
                    Para(format!("Usted aprobó el cambio. Su dirección de correo para {org} es ahora {new_masked}; los mensajes irán allí a partir de ahora.")),
                    Para(format!("Si usted no lo aprobó, escriba de inmediato a {}.", brand.support_email)),
                ],
            ),
            _ => (
                format!("Rechazó un cambio de su dirección de correo en {org}"),
                vec![
                    Para(format!("Hola, {name}:")),
                    Para(format!("Usted rechazó el cambio. Su dirección de correo para {org} sigue siendo {old_masked}.")),
                    Para(format!("Si tiene preguntas, escriba a {}.", brand.support_email)),
                ],
            ),
        },
        (MessageKind::OutcomeToAdmin, _) => {
            let outcome = match (ctx.status, ctx.cancelled_by) {
                (RequestStatus::Approved, _) => "approved by the patron".to_string(),
                (RequestStatus::Rejected, _) => "rejected by the patron".to_string(),
                (RequestStatus::Cancelled, Some("patron")) => {
                    "cancelled by the patron from the old address (\"this wasn't me\")".to_string()
                }
                (RequestStatus::Cancelled, Some("conflict")) => {
                    "closed: the new address now belongs to another patron".to_string()
                }
                (status, _) => status.as_str().to_string(),
            };
            let mut blocks = vec![
                Para(format!(
                    "Change request #{} for patron #{} ({name}): email {old_masked} → {new_masked}.",
                    ctx.request_id, ctx.patron_id
                )),
                Para(format!("Outcome: {outcome}.")),
                Para(format!("Your reason was: {}", ctx.reason)),
            ];
            if ctx.cancelled_by == Some("patron") {
                blocks.push(Para(
                    "The patron says they did not ask for this. Check who proposed it and whether the admin account is safe.".into(),
                ));
            }
            (format!("Change request #{}: {outcome}", ctx.request_id), blocks)
        }
    }
}

fn render_text(blocks: &[Block], footer: &str) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Para(text) => out.push_str(text),
            Block::Quote(text) => {
                out.push_str("  > ");
                out.push_str(text);
            }
            Block::Button { label, url } => {
                out.push_str(label);
                out.push_str(":\n");
                out.push_str(url);
            }
        }
        out.push_str("\n\n");
    }
    out.push_str("-- \n");
    out.push_str(footer);
    out.push('\n');
    out
}

fn render_html(
    subject: &str,
    blocks: &[Block],
    footer: &str,
    brand: &Brand,
    locale: Locale,
) -> String {
    let colour = escape(&brand.colour);
    let mut body = String::new();
    for block in blocks {
        match block {
            Block::Para(text) => body.push_str(&format!("<p style=\"margin:0 0 16px\">{}</p>", escape(text))),
            Block::Quote(text) => body.push_str(&format!(
                "<blockquote style=\"margin:0 0 16px;padding:8px 12px;border-left:4px solid {colour};background:#f6f6f6\">{}</blockquote>",
                escape(text)
            )),
            Block::Button { label, url } => body.push_str(&format!(
                "<p style=\"margin:0 0 16px\"><a href=\"{}\" style=\"display:inline-block;padding:12px 20px;background:{colour};color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold\">{}</a></p>",
                escape(url),
                escape(label)
            )),
        }
    }
    let logo = brand
        .logo_url
        .as_deref()
        .map(|url| format!("<img src=\"{}\" alt=\"\" height=\"40\" style=\"vertical-align:middle;margin-right:12px\">", escape(url)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
<body style=\"margin:0;background:#ececec;font-family:Arial,Helvetica,sans-serif;color:#1d1d1d\">\
<div style=\"max-width:560px;margin:0 auto;background:#ffffff\">\
<div style=\"background:{colour};color:#ffffff;padding:16px 24px;font-size:20px;font-weight:bold\">{logo}{org}</div>\
<div style=\"padding:24px;font-size:16px;line-height:1.5\">{body}</div>\
<div style=\"padding:16px 24px;font-size:12px;color:#555555;border-top:1px solid #dddddd\">{footer}</div>\
</div></body></html>",
        lang = locale.as_str(),
        title = escape(subject),
        org = escape(&brand.org_name),
        footer = escape(footer),
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> Brand {
        crate::settings::Settings::for_tests("http://127.0.0.1:3000").brand
    }

    fn ctx(kind: MessageKind, locale: Locale) -> MessageContext<'static> {
        MessageContext {
            kind,
            locale,
            request_id: 7,
            patron_id: 3,
            patron_name: "Ana <script>",
            old_email: "ana@old.example",
            new_email: "ana@new.example",
            reason: "Patron phoned & asked",
            status: RequestStatus::Pending,
            cancelled_by: None,
            expires_at: Utc::now(),
            link: Some("http://127.0.0.1:3000/c/TOKEN"),
        }
    }

    #[test]
    fn proposal_to_new_has_link_reason_and_masked_old_address() {
        let r = render(&ctx(MessageKind::ProposalToNew, Locale::En), &brand());
        assert!(r.text.contains("http://127.0.0.1:3000/c/TOKEN"));
        assert!(r.text.contains("Patron phoned & asked"));
        assert!(r.text.contains("a•••@old.example"));
        assert!(!r.text.contains("ana@old.example"));
        assert!(r.html.contains("Patron phoned &amp; asked"));
        assert!(r.html.contains("Ana &lt;script&gt;"));
        assert!(!r.html.contains("<script>"));
        assert!(r.html.contains("#7a1f5c"));
    }

    #[test]
    fn every_kind_renders_in_every_locale_with_the_org_name() {
        for kind in MessageKind::ALL {
            for locale in Locale::ALL {
                let r = render(&ctx(kind, locale), &brand());
                assert!(!r.subject.is_empty());
                assert!(r.html.contains("Teatro Demo"));
                assert!(r.text.contains("Teatro Demo") || r.text.contains("patron #3"));
            }
        }
        let es = render(&ctx(MessageKind::ProposalToOld, Locale::Es), &brand());
        assert!(es.text.contains("No fui yo"));
    }

    #[test]
    fn outcome_messages_carry_no_link() {
        let mut c = ctx(MessageKind::OutcomeToPatron, Locale::En);
        c.link = None;
        c.status = RequestStatus::Approved;
        let r = render(&c, &brand());
        assert!(!r.text.contains("/c/"));
        assert!(
            !r.text.contains("ana@new.example"),
            "the full new address is not repeated"
        );
    }
}
