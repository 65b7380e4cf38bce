//! The words on the patron's pages, per locale. Changing them means bumping
//! `audit::CONSENT_TEXT_VERSION`, which the evidence of each decision records.

use crate::changes::LinkState;
use crate::locale::Locale;

pub struct Copy {
    pub decide_title: &'static str,
    pub decide_intro: &'static str,
    pub decide_note: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub not_me_title: &'static str,
    pub not_me_intro: &'static str,
    pub not_me_note: &'static str,
    pub not_me_button: &'static str,
    pub asked_by: &'static str,
    pub current_address: &'static str,
    pub new_address: &'static str,
    pub reason: &'static str,
    pub expires: &'static str,
    pub contact: &'static str,
    pub language: &'static str,
    pub error_title: &'static str,
    pub error_body: &'static str,
    closed: [(&'static str, &'static str); 7],
}

const EN: Copy = Copy {
    decide_title: "Confirm your new email address",
    decide_intro: "{org} asked to change the email address on your account. Nothing changes unless you approve.",
    decide_note: "If you did not expect this, choose Reject.",
    approve: "Approve the change",
    reject: "Reject",
    not_me_title: "Did you ask for this change?",
    not_me_intro: "{org} was asked to change the email address on your account. If you did not ask for this, cancel it here and the venue will be alerted.",
    not_me_note: "If you did ask for it, you can close this page.",
    not_me_button: "This wasn't me: cancel it",
    asked_by: "Requested by",
    current_address: "Current address",
    new_address: "New address",
    reason: "Reason",
    expires: "Link expires",
    contact: "Questions? Contact the venue:",
    language: "Language",
    error_title: "Something went wrong",
    error_body: "We could not complete this just now. Nothing was changed. Please try again in a few minutes.",
    closed: [
        ("Change approved", "The change was approved. Your account uses the new address from now on."),
        ("Change rejected", "The change was rejected. Your account keeps its address."),
        ("Request cancelled", "This request was cancelled. Nothing was changed."),
        ("Change not possible", "This change can no longer be made. Nothing was changed."),
        ("This link has expired", "This link is no longer valid. Nothing was changed. Ask the venue to send a new one if you still want the change."),
        ("This request was replaced", "A newer request or a newer link replaced this one. Use the most recent email you received."),
        ("This link is not valid", "This link cannot be used. Check that you opened the whole link from the email."),
    ],
};

const ES: Copy = Copy {
    decide_title: "Confirme su nueva dirección de correo",
    decide_intro: "{org} pidió cambiar la dirección de correo de su cuenta. Nada cambia si usted no lo aprueba.",
    decide_note: "Si no esperaba esto, elija Rechazar.",
    approve: "Aprobar el cambio",
    reject: "Rechazar",
    not_me_title: "¿Pidió usted este cambio?",
    not_me_intro: "Se pidió a {org} cambiar la dirección de correo de su cuenta. Si usted no lo pidió, cancélelo aquí y se avisará al recinto.",
    not_me_note: "Si usted lo pidió, puede cerrar esta página.",
    not_me_button: "No fui yo: cancelar",
    asked_by: "Solicitado por",
    current_address: "Dirección actual",
    new_address: "Nueva dirección",
    reason: "Motivo",
    expires: "El enlace caduca",
    contact: "¿Preguntas? Escriba al recinto:",
    language: "Idioma",
    error_title: "Algo salió mal",
    error_body: "No pudimos completar esto ahora. No se cambió nada. Inténtelo de nuevo en unos minutos.",
    closed: [
        ("Cambio aprobado", "El cambio fue aprobado. Su cuenta usa la nueva dirección a partir de ahora."),
        ("Cambio rechazado", "El cambio fue rechazado. Su cuenta conserva su dirección."),
        ("Solicitud cancelada", "Esta solicitud fue cancelada. No se cambió nada."),
        ("Cambio no posible", "Este cambio ya no se puede hacer. No se cambió nada."),
        ("Este enlace ha caducado", "Este enlace ya no es válido. No se cambió nada. Pida al recinto uno nuevo si aún quiere el cambio."),
        ("Esta solicitud fue reemplazada", "Una solicitud o un enlace más reciente reemplazó a este. Use el último correo que recibió."),
        ("Este enlace no es válido", "Este enlace no se puede usar. Compruebe que abrió el enlace completo del correo."),
    ],
};

impl Copy {
    pub fn for_locale(locale: Locale) -> &'static Copy {
        match locale {
            Locale::En => &EN,
            Locale::Es => &ES,
        }
    }

    /// Title and text for a link that can no longer act. None of them names a person.
    pub fn closed(&self, state: &LinkState) -> (&'static str, &'static str) {
        let index = match state {
            LinkState::Approved => 0,
            LinkState::Rejected => 1,
            LinkState::Cancelled => 2,
            LinkState::Conflict => 3,
            LinkState::Expired => 4,
            LinkState::Replaced => 5,
            LinkState::Invalid | LinkState::Open(_) => 6,
        };
        self.closed[index]
    }
}
