//! The landing page: what Assent promises, and the lifecycle of a change, explorable.

use leptos::prelude::*;

use crate::changes::RequestStatus;

fn explain(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Pending => "An admin proposed a new email. The patron's record is untouched; the new address has an approval link and the old address a \"this wasn't me\" link.",
        RequestStatus::Approved => "The patron approved from the new address. Only now, in the same transaction, does the patron's record change. Patron and admin are told.",
        RequestStatus::Rejected => "The patron rejected the change from the new address. The record keeps its address. Patron and admin are told.",
        RequestStatus::Cancelled => "An admin withdrew the request, or the old address said \"this wasn't me\" and the admins were alerted.",
        RequestStatus::Expired => "Nobody decided before the link expired (72 hours by default). Nothing changed.",
        RequestStatus::Superseded => "A newer request for the same patron replaced this one. Its links now say so.",
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let selected = RwSignal::new(RequestStatus::Pending);
    view! {
        <section class="hero">
            <h1>"Staff cannot silently change a patron's email."</h1>
            <p>
                "When an admin proposes a new primary email, nothing changes until the patron "
                "approves it from the new address. Every step is recorded as evidence."
            </p>
        </section>
        <section class="lifecycle" aria-labelledby="lifecycle-title">
            <h2 id="lifecycle-title">"The life of a change request"</h2>
            <div class="states" role="group" aria-label="States">
                {RequestStatus::ALL
                    .into_iter()
                    .map(|status| {
                        view! {
                            <button
                                type="button"
                                class="state"
                                aria-pressed=move || (selected.get() == status).to_string()
                                on:click=move |_| selected.set(status)
                            >
                                {status.as_str()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <p class="state-explanation" aria-live="polite" data-testid="state-explanation">
                {move || explain(selected.get())}
            </p>
        </section>
    }
}
