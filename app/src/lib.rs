//! Assent's application: the admin UI (Leptos, rendered on the server and hydrated in the
//! browser) and, behind the `ssr` feature, the domain operations the server runs.

pub mod audit;
pub mod auth;
pub mod branding;
pub mod changes;
pub mod email;
pub mod events;
pub mod loaded;
pub mod locale;
pub mod mail;
pub mod patrons;

#[cfg(feature = "ssr")]
pub mod consent;
#[cfg(feature = "ssr")]
pub mod security;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod state;

mod home;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/assent.css"/>
        <Title text="Assent"/>
        <Router>
            <header class="app-bar">
                <a href="/" class="app-name">"Assent"</a>
                <auth::AdminBar/>
            </header>
            <main class="app-main">
                <Routes fallback=|| view! { <h1>"Page not found"</h1> }>
                    <Route path=StaticSegment("") view=home::HomePage/>
                    <Route path=StaticSegment("signin") view=auth::SignInPage/>
                    <Route path=StaticSegment("admins") view=auth::AdminsPage/>
                    <Route path=StaticSegment("audit") view=audit::AuditPage/>
                    <Route path=StaticSegment("branding") view=branding::BrandingPage/>
                    <Route path=StaticSegment("changes") view=changes::dashboard::ChangesPage/>
                    <Route path=StaticSegment("patrons") view=patrons::PatronsPage/>
                    <Route path=(StaticSegment("patrons"), ParamSegment("id")) view=patrons::PatronDetailPage/>
                </Routes>
            </main>
        </Router>
    }
}
