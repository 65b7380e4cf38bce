//! How every dashboard page shows what it loads: a line while it loads, the error as an
//! alert, or the page's view of it; kept on screen while it reloads.

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub fn loaded<T, E, V>(
    resource: Resource<Result<T, E>>,
    loading: &'static str,
    ready: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    E: Clone + Send + Sync + Serialize + DeserializeOwned + std::fmt::Display + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=move || view! { <p>{loading}</p> }>
            {move || {
                let ready = ready.clone();
                Suspend::new(async move {
                    match resource.await {
                        Err(error) => view! { <p role="alert" class="error">{error.to_string()}</p> }.into_any(),
                        Ok(value) => ready(value).into_any(),
                    }
                })
            }}
        </Transition>
    }
}
