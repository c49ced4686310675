//! Browser tests of the page (wasm-bindgen-test in headless Chromium): the components in a
//! real DOM, driven by worker events and by the controls.
//!
//! Built with the page's own profile and features, so it reuses that build:
//! `wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver . --profile web-ui
//! --no-default-features --features ui --test browser_page` (scripts/test.sh does).
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use mtl_playground::page::dashboard::RunState;
use mtl_playground::protocol::experiment::{Experiment, ModelKind, ModelSettings};
use mtl_playground::protocol::{Event, GateLayout, ModelInfo, Progress, Proxy, StopReason};
use mtl_playground::ui::{
    ArchitectureDiagram, Controls, GateHeatmap, MetricsTable, Playground, RunBar,
};
use mtl_playground::web::sleep;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A built model's info: MMoE with `experts` experts, or a model without gates.
fn info(gated: bool, experts: usize) -> ModelInfo {
    let kind = if gated {
        ModelKind::Mmoe
    } else {
        ModelKind::SharedBottom
    };
    let settings = ModelSettings {
        experts,
        ..ModelSettings::default()
    };
    ModelInfo {
        params: 12_345,
        tasks: vec!["income".into(), "never_married".into()],
        gates: GateLayout::new(kind, &settings, 2),
        input_fields: vec!["workclass".into(), "relationship".into(), "age".into()],
        categorical_fields: 2,
        proxies: vec![Proxy {
            field: "relationship".into(),
            task: "never_married".into(),
            auc: 0.91,
        }],
        label_correlation: None,
        grad_cosine_every: Some(25),
        data_picture: None,
        seeds: vec![1],
    }
}

fn query(selector: &str) -> web_sys::Element {
    document()
        .query_selector(selector)
        .expect("valid selector")
        .unwrap_or_else(|| panic!("no element {selector}"))
}

fn change(selector: &str, value: &str) {
    let el = query(selector);
    if let Some(input) = el.dyn_ref::<web_sys::HtmlInputElement>() {
        input.set_value(value);
    } else if let Some(select) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
        select.set_value(value);
    }
    let event = web_sys::Event::new("change").expect("an event");
    el.dispatch_event(&event).expect("dispatched");
}

#[wasm_bindgen_test]
async fn components_follow_the_worker_and_the_controls() {
    let p = Playground::new(Experiment::default());
    let root: web_sys::HtmlElement = document()
        .create_element("div")
        .expect("div")
        .unchecked_into();
    document()
        .body()
        .expect("body")
        .append_child(&root)
        .expect("appended");
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_context(p);
        view! { <Controls /> <RunBar /> <GateHeatmap /> <MetricsTable /> <ArchitectureDiagram /> }
    });
    p.reset();
    let session = p.session();
    p.receive(Event::Built {
        session,
        info: info(true, 4),
    });
    p.receive(Event::Progress {
        session,
        progress: Progress {
            step: 40,
            epoch: 0,
            epoch_progress: 0.35,
            losses: vec![0.4, 0.3],
            gates: vec![vec![0.7, 0.1, 0.1, 0.1], vec![0.1, 0.1, 0.1, 0.7]],
            grad_cosine: vec![],
            samples_per_sec: 5000.0,
            replica_losses: Vec::new(),
        },
    });
    // A stale session's events are ignored.
    p.receive(Event::Progress {
        session: session + 100,
        progress: Progress {
            step: 999,
            epoch: 0,
            epoch_progress: 0.0,
            losses: vec![9.0, 9.0],
            gates: vec![],
            grad_cosine: vec![],
            samples_per_sec: 0.0,
            replica_losses: Vec::new(),
        },
    });
    sleep(0).await;
    let text = |sel: &str| query(sel).text_content().unwrap_or_default();
    assert!(
        text("[data-testid=step-counter]").contains("Step 40"),
        "{}",
        text("[data-testid=step-counter]")
    );
    // Counted in the markup: the page's web-sys build has no NodeList (querySelectorAll).
    let cells = query("[data-testid=gate-heatmap]")
        .inner_html()
        .matches("<td")
        .count();
    // Two gates of four experts, and each gate's per-row spread.
    assert_eq!(cells, 10);
    assert!(text("[data-testid=gate-heatmap]").contains("0.70"));
    assert!(text("[data-testid=metrics-table]").contains("income"));
    // The inputs the model reads, a proxy for a label marked as one.
    let inputs = text("[data-testid=input-fields]");
    assert!(inputs.contains("(3: 2 categorical, 1 numeric)"), "{inputs}");
    let proxy = query("[data-testid=input-fields] li.proxy");
    assert_eq!(
        proxy.get_attribute("data-field").as_deref(),
        Some("relationship")
    );
    assert!(
        proxy
            .text_content()
            .unwrap_or_default()
            .contains("a proxy for never_married: alone it scores AUC 0.91"),
        "{inputs}"
    );
    assert_eq!(
        query("[data-testid=input-fields] li[data-field=age]")
            .get_attribute("class")
            .as_deref(),
        Some("field numeric")
    );

    // Picking a model shows its own knobs.
    change("[data-testid=model-select]", "ple");
    sleep(0).await;
    assert_eq!(p.experiment.get_untracked().model, ModelKind::Ple);
    assert_eq!(p.experiment.get_untracked().arch.expert_units, vec![64, 64]);
    assert!(document().get_element_by_id("levels").is_some());
    assert!(document().get_element_by_id("experts").is_none());
    assert_ne!(p.session(), session, "a new model means a new session");

    // Out-of-range values are clamped, with a message; junk is refused.
    change("#levels", "9");
    sleep(0).await;
    assert_eq!(p.experiment.get_untracked().arch.levels, 4);
    assert!(
        p.notices
            .get_untracked()
            .iter()
            .any(|n| n.contains("levels"))
    );
    change("#expert-units", "64,<b>x</b>");
    sleep(0).await;
    assert_eq!(p.experiment.get_untracked().arch.expert_units, vec![64, 64]);
    assert!(
        p.notices
            .get_untracked()
            .iter()
            .any(|n| n.contains("not a positive whole number"))
    );

    // The knobs the tutorial leaves at DeepCTR's defaults are reachable too, and rebuild.
    let before = p.session();
    change("#dropout", "0.2");
    change("#gate-units", "8");
    sleep(0).await;
    let arch = p.experiment.get_untracked().arch;
    assert_eq!((arch.dropout, arch.gate_units), (0.2, vec![8]));
    assert_ne!(p.session(), before, "a new model means a new session");
    change("[data-testid=model-select]", "shared_bottom");
    sleep(0).await;
    assert!(document().get_element_by_id("gate-units").is_none());
    assert!(document().get_element_by_id("dropout").is_some());

    // A NaN loss stops training and says why.
    let session = p.session();
    p.receive(Event::Built {
        session,
        info: info(false, 0),
    });
    p.receive(Event::Stopped {
        session,
        reason: StopReason::NonFinite {
            message: "the loss of income became NaN at step 12".into(),
        },
    });
    sleep(0).await;
    assert_eq!(
        p.dashboard.with_untracked(|d| d.state.clone()),
        RunState::Stopped
    );
    assert!(text("[data-testid=train-toggle]").contains("Play"));
    assert!(text("body").contains("became NaN at step 12"));
}
