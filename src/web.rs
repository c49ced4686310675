//! Browser glue shared by the page and the workers: timers, the clock, fetching the data, the
//! WebGPU probe, and the page's handle on a worker. The bindings go through the global scope, so
//! each works both in a window and in a worker (where `web_sys::window()` is `None`).

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{AdapterProbe, Command, Event};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_url(url: &str) -> Promise;
}

/// Milliseconds since the page (or worker) started.
pub fn now() -> f64 {
    performance_now()
}

/// Resolves after `ms` milliseconds, yielding to the event loop (so messages get handled).
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// A JS error or value as a readable sentence.
pub fn describe(err: &JsValue) -> String {
    if let Some(e) = err.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    err.as_string().unwrap_or_else(|| format!("{err:?}"))
}

/// Fetches `url` (relative to the page or worker script) as bytes.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = JsFuture::from(fetch_url(url))
        .await
        .map_err(|e| format!("could not fetch {url}: {}", describe(&e)))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| format!("fetching {url} did not give a response"))?;
    if !response.ok() {
        return Err(format!(
            "fetching {url} failed with HTTP {}",
            response.status()
        ));
    }
    let buffer = response
        .array_buffer()
        .map_err(|e| format!("could not read {url}: {}", describe(&e)))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| format!("could not read {url}: {}", describe(&e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Asks the browser for a WebGPU adapter and says what kind it is. Uses reflection, so the page
/// needs no unstable web-sys APIs and still works where `navigator.gpu` is missing.
pub async fn probe_webgpu() -> AdapterProbe {
    let global = js_sys::global();
    let Some(gpu) = get(&global, "navigator").and_then(|n| get(&n, "gpu")) else {
        return AdapterProbe::NoApi;
    };
    let Some(request) = get(&gpu, "requestAdapter").and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return AdapterProbe::NoApi;
    };
    let promise = match request.call0(&gpu).map(|p| p.dyn_into::<Promise>()) {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => return AdapterProbe::NoAdapter("requestAdapter returned no promise".into()),
        Err(e) => return AdapterProbe::NoAdapter(describe(&e)),
    };
    let adapter = match JsFuture::from(promise).await {
        Ok(a) if !a.is_null() && !a.is_undefined() => a,
        Ok(_) => return AdapterProbe::NoAdapter("the browser offered none".into()),
        Err(e) => return AdapterProbe::NoAdapter(describe(&e)),
    };
    let info = get(&adapter, "info");
    let text = |key: &str| {
        info.as_ref()
            .and_then(|i| get(i, key))
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let fallback = info
        .as_ref()
        .and_then(|i| get(i, "isFallbackAdapter"))
        .or_else(|| get(&adapter, "isFallbackAdapter"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let (vendor, architecture, description) =
        (text("vendor"), text("architecture"), text("description"));
    let name = [vendor.as_str(), architecture.as_str(), description.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let name = if name.is_empty() {
        "unnamed adapter".to_string()
    } else {
        name
    };
    let software = fallback
        || ["swiftshader", "llvmpipe", "lavapipe"]
            .iter()
            .any(|s| name.to_lowercase().contains(s));
    if software {
        AdapterProbe::Fallback(name)
    } else {
        AdapterProbe::Hardware(name)
    }
}

/// The page's query string (`?model=…`), or "" outside a window.
pub fn location_search() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// Replaces the page's query string without a reload or a history entry, so the address bar
/// always holds the current experiment.
pub fn replace_query(query: &str) {
    if let Some(w) = web_sys::window()
        && let Ok(history) = w.history()
    {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?{query}")));
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_epoch_ms() -> f64 {
    js_sys::Date::now()
}

/// Offers `text` as a file download.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    download_part(name, mime, &JsValue::from_str(text))
}

/// The text of the file chosen in a file input (`None` if none is chosen). The file list and
/// the file are read through their JavaScript properties: a `File` is a `Blob`.
pub async fn chosen_file_text(input: &web_sys::HtmlInputElement) -> Result<Option<String>, String> {
    let files = js_sys::Reflect::get(input, &JsValue::from_str("files"))
        .map_err(|e| format!("could not read the chosen file: {}", describe(&e)))?;
    if files.is_null() || files.is_undefined() {
        return Ok(None);
    }
    let file = js_sys::Reflect::get_u32(&files, 0)
        .map_err(|e| format!("could not read the chosen file: {}", describe(&e)))?;
    if file.is_undefined() {
        return Ok(None);
    }
    let blob: web_sys::Blob = file.unchecked_into();
    let text = wasm_bindgen_futures::JsFuture::from(blob.text())
        .await
        .map_err(|e| format!("could not read the chosen file: {}", describe(&e)))?;
    Ok(text.as_string())
}

/// Offers `bytes` as a file download.
pub fn download_bytes(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    download_part(name, mime, &js_sys::Uint8Array::from(bytes))
}

fn download_part(name: &str, mime: &str, part: &JsValue) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document to download from")?;
    let parts = js_sys::Array::of1(part);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("could not prepare {name}: {}", describe(&e)))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| format!("could not prepare {name}: {}", describe(&e)))?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| describe(&e))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Scrolls the panel that holds the element `selector` finds (or the element, outside any
/// panel) into view once the page has drawn it (after the current task), its heading included
/// and below the sticky run bar, not under it. With `focus`, moves the keyboard focus to the
/// element. Nothing happens if there is none.
pub fn reveal(selector: impl Into<String>, focus: bool) {
    let selector = selector.into();
    wasm_bindgen_futures::spawn_local(async move {
        sleep(0).await;
        let Some(window) = web_sys::window() else {
            return;
        };
        let Some(document) = window.document() else {
            return;
        };
        if let Some(element) = document.query_selector(&selector).ok().flatten() {
            let panel = element.closest("section, .panel").ok().flatten();
            panel.as_ref().unwrap_or(&element).scroll_into_view();
            // The panel's top is at the window's top now, where the run bar covers it.
            if let Some(bar) = document.query_selector(".runbar").ok().flatten() {
                window.scroll_by_with_x_and_y(0.0, -f64::from(bar.client_height() + 8));
            }
            if let Some(html) = element.dyn_ref::<web_sys::HtmlElement>().filter(|_| focus) {
                let _ = html.focus();
            }
        }
    });
}

/// Outlines the panel that holds the element `selector` finds (class `lesson-watch`), and no
/// other; `None` removes the outline.
pub fn highlight(selector: Option<&str>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(Some(old)) = document.query_selector(".lesson-watch") {
        let _ = old.class_list().remove_1("lesson-watch");
    }
    let found = selector.and_then(|s| document.query_selector(s).ok().flatten());
    let panel = found.and_then(|e| e.closest("section, .panel").ok().flatten());
    if let Some(panel) = panel {
        let _ = panel.class_list().add_1("lesson-watch");
    }
}

/// Copies a link to the page with `query` to the clipboard (and puts it in the address bar).
pub fn copy_link(query: &str) -> Result<(), String> {
    replace_query(query);
    let window = web_sys::window().ok_or("no window")?;
    let href = window.location().href().map_err(|e| describe(&e))?;
    let clipboard = get(&window.navigator(), "clipboard")
        .ok_or("this browser gives no clipboard access; copy the address bar instead")?;
    let write = get(&clipboard, "writeText")
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or("no clipboard writeText; copy the address bar instead")?;
    write
        .call1(&clipboard, &JsValue::from_str(&href))
        .map(|_| ())
        .map_err(|e| describe(&e))
}

pub fn local_storage_get(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

/// Saves a value; a full or disabled storage is not an error worth a message here.
pub fn local_storage_set(key: &str, value: &str) {
    if let Some(Ok(Some(storage))) = web_sys::window().map(|w| w.local_storage()) {
        let _ = storage.set_item(key, value);
    }
}

/// Serialises a message for `postMessage`.
pub fn to_js<T: serde::Serialize>(message: &T) -> Result<JsValue, String> {
    serde_wasm_bindgen::to_value(message).map_err(|e| format!("could not encode a message: {e}"))
}

/// Reads a message that came through `postMessage`.
pub fn from_js<T: serde::de::DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| format!("could not decode a message: {e}"))
}

/// The page's handle on one training worker. Dropping it terminates the worker and frees its
/// callbacks, so a reset or a device switch leaves nothing running behind.
pub struct WorkerClient {
    worker: web_sys::Worker,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl WorkerClient {
    /// Starts the worker at `url`. `on_event` gets every decoded event; `on_failure` gets a
    /// sentence when the worker crashes or sends something undecodable.
    pub fn spawn(
        url: &str,
        on_event: impl Fn(Event) + 'static,
        on_failure: impl Fn(String) + 'static,
    ) -> Result<Self, String> {
        let worker = web_sys::Worker::new(url)
            .map_err(|e| format!("could not start the worker: {}", describe(&e)))?;
        let on_failure = std::rc::Rc::new(on_failure);
        let fail = on_failure.clone();
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |msg: web_sys::MessageEvent| {
                match from_js::<Event>(msg.data()) {
                    Ok(event) => on_event(event),
                    Err(e) => fail(e),
                }
            });
        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
                e.prevent_default();
                let message = e.message();
                on_failure(if message.is_empty() {
                    "the training worker stopped unexpectedly".to_string()
                } else {
                    format!("the training worker stopped: {message}")
                });
            });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn send(&self, command: &Command) -> Result<(), String> {
        let value = to_js(command)?;
        self.worker
            .post_message(&value)
            .map_err(|e| format!("could not reach the worker: {}", describe(&e)))
    }
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}
