//! The sign-in page and the bar that says who is signed in.

use leptos::prelude::*;

use super::{current_admin, SignIn, SignOut};

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || {
        sign_in
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <section class="sign-in">
            <h1>"Sign in"</h1>
            <ActionForm action=sign_in>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <p role="alert" class="error">{error}</p>
                <button type="submit" class="primary">"Sign in"</button>
            </ActionForm>
        </section>
    }
}

/// Who is signed in, with a sign-out button; a sign-in link otherwise.
#[component]
pub fn AdminBar() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    // Asked again after signing out and on every navigation (signing in navigates).
    let path = leptos_router::hooks::use_location().pathname;
    let admin = Resource::new(
        move || (sign_out.version().get(), path.get()),
        |_| current_admin(),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match admin.await {
                    Ok(Some(admin)) => view! {
                        <nav class="admin-nav" aria-label="Main">
                            <a href="/changes">"Changes"</a>
                            <a href="/patrons">"Patrons"</a>
                            <a href="/audit">"Audit log"</a>
                            {admin.role.can_manage().then(|| view! { <a href="/admins">"Admins"</a> <a href="/branding">"Branding"</a> })}
                        </nav>
                        <span class="who" data-testid="signed-in-as">
                            {admin.display_name} " (" {admin.role.as_str()} ")"
                        </span>
                        <ActionForm action=sign_out>
                            <button type="submit" class="link">"Sign out"</button>
                        </ActionForm>
                    }.into_any(),
                    _ => view! { <a href="/signin" class="who">"Sign in"</a> }.into_any(),
                }
            })}
        </Transition>
    }
}
