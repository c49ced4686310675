//! The controls: the model, its sizes, the training settings, the data and the device. They are
//! drawn from the field table ([`FIELDS`]): each control's id, label, help and bounds are its
//! field's. Each edit goes through [`Playground::update`], which clamps it and decides whether
//! the model must be rebuilt.

use leptos::prelude::*;

use super::Playground;
use crate::page::dashboard::Parts;
use crate::page::lessons::note;
use crate::protocol::experiment::{DataKind, DeviceChoice, ModelKind, models_on};
use crate::protocol::fields::{FIELDS, Field, Group, Value};

/// Parses the control's text into its field; on an error, says so and puts the old value back.
/// What was refused or clamped is also said under the control itself, where the eye is.
fn write(p: Playground, field: &'static Field, text: String) {
    let mut refused = None;
    let notices = p.update(|e| refused = field.parse(e, &text).err());
    let message = match refused {
        Some(why) => {
            p.notify(format!("{}: {why}; kept the old value.", field.label));
            Some(format!("{why}; kept the old value."))
        }
        None => {
            let mine: Vec<String> = notices
                .iter()
                .filter(|n| n.field == field.name())
                .map(|n| format!("{}.", n.message))
                .collect();
            (!mine.is_empty()).then(|| mine.join(" "))
        }
    };
    p.field_message(field.id, message);
}

/// The message under control `id`, if there is one.
fn message_for(p: Playground, id: &'static str) -> Option<String> {
    p.field_messages
        .with(|m| m.iter().find(|(k, _)| k == id).map(|(_, v)| v.clone()))
}

/// The message under a control, announced when it appears.
#[component]
fn FieldMessage(id: &'static str) -> impl IntoView {
    let p = expect_context::<Playground>();
    view! {
        <Show when=move || message_for(p, id).is_some()>
            <small class="field-error" id=format!("{id}-error") role="alert" data-testid=format!("{id}-error")>
                {move || message_for(p, id).unwrap_or_default()}
            </small>
        </Show>
    }
}

/// `aria-describedby` of control `id`: its help, and its message when there is one.
fn described_by(p: Playground, id: &'static str) -> String {
    match message_for(p, id) {
        Some(_) => format!("{id}-error {id}-help"),
        None => format!("{id}-help"),
    }
}

/// A number or text input bound to one field.
#[component]
fn InputField(
    /// The field the input edits.
    field: &'static Field,
) -> impl IntoView {
    let p = expect_context::<Playground>();
    let help_id = format!("{}-help", field.id);
    let id = field.id;
    let (kind, min, max, step) = match field.value {
        Value::Count { min, max, .. } => ("number", Some(min as f64), Some(max as f64), "1"),
        Value::Real { min, max, step, .. } => ("number", Some(min), Some(max), step),
        _ => ("text", None, None, ""),
    };
    view! {
        <div class="field">
            <label for=field.id title=field.help>{field.label}</label>
            <input
                id=field.id
                type=kind
                inputmode=(kind == "text").then_some("numeric")
                min=min
                max=max
                step=(kind == "number").then_some(step)
                aria-describedby=move || described_by(p, id)
                aria-invalid=move || message_for(p, id).is_some().to_string()
                prop:value=move || p.experiment.with(|e| field.text(e))
                on:change=move |ev| write(p, field, event_target_value(&ev))
            />
            <FieldMessage id=id />
            <small id=help_id>{field.help}</small>
        </div>
    }
}

/// A checkbox bound to an on/off field.
#[component]
fn FlagField(
    /// The field the checkbox edits.
    field: &'static Field,
) -> impl IntoView {
    let p = expect_context::<Playground>();
    let help_id = format!("{}-help", field.id);
    let checked = move || p.experiment.with(|e| field.text(e) == "1");
    view! {
        <div class="field check">
            <input id=field.id type="checkbox" aria-describedby=help_id.clone()
                prop:checked=checked
                on:change=move |ev| {
                    let on = if event_target_checked(&ev) { "1" } else { "0" };
                    write(p, field, on.to_string());
                } />
            <label for=field.id>{field.label}</label>
            <small id=help_id>{field.help}</small>
        </div>
    }
}

/// The fields the controls draw by hand: choosing the model or the device does more than set a
/// value, and the correlation slider shows what it achieved beside it.
const BY_HAND: [&str; 3] = ["model", "device", "p"];

/// A select over a choice field's options.
#[component]
fn ChoiceField(
    /// The field the select edits.
    field: &'static Field,
) -> impl IntoView {
    let p = expect_context::<Playground>();
    let help_id = format!("{}-help", field.id);
    view! {
        <div class="field">
            <label for=field.id title=field.help>{field.label}</label>
            <select id=field.id data-testid=format!("{}-select", field.id) aria-describedby=help_id.clone()
                prop:value=move || p.experiment.with(|e| field.text(e))
                on:change=move |ev| write(p, field, event_target_value(&ev))>
                {choice_options(field)}
            </select>
            <small id=help_id>{field.help}</small>
        </div>
    }
}

/// The correlated tasks' p as a slider, with the label correlation the built data achieved.
#[component]
fn CorrelationSlider() -> impl IntoView {
    let p = expect_context::<Playground>();
    let f = field("p");
    let achieved = move || {
        p.dashboard.with(Parts::MODEL, |d| {
            match d.info.as_ref().and_then(|i| i.label_correlation) {
                Some(r) => format!("Label correlation achieved: {r:.2}"),
                None => "Label correlation: appears once the data are drawn.".into(),
            }
        })
    };
    view! {
        <div class="field">
            <label for=f.id title=f.help>
                {f.label} " = " {move || p.experiment.with(|e| format!("{:.1}", e.p))}
            </label>
            <input id=f.id data-testid="correlation" type="range" min="-1" max="1" step="0.1"
                aria-describedby="correlation-help"
                prop:value=move || p.experiment.with(|e| e.p.to_string())
                on:change=move |ev| write(p, f, event_target_value(&ev)) />
            <small id="correlation-help">{f.help}</small>
            <small data-testid="label-correlation" aria-live="polite">{achieved}</small>
        </div>
    }
}

/// The controls of one group's fields, each shown only where it means something (its model
/// uses it, on its data set).
fn group_fields(p: Playground, group: Group) -> impl IntoView {
    FIELDS
        .iter()
        .filter(move |f| f.group == group && !BY_HAND.contains(&f.key))
        .map(move |field: &'static Field| {
            let shown = move || p.experiment.with(|e| field.applies_to(e));
            view! { <Show when=shown>{control(field)}</Show> }
        })
        .collect_view()
}

/// The control for a field, by its type.
fn control(field: &'static Field) -> AnyView {
    match field.value {
        Value::Count { .. } | Value::Real { .. } | Value::Units { .. } => {
            view! { <InputField field /> }.into_any()
        }
        Value::Flag { .. } => view! { <FlagField field /> }.into_any(),
        Value::Choice { .. } => view! { <ChoiceField field /> }.into_any(),
    }
}

/// A choice field's options.
fn choice_options(field: &'static Field) -> impl IntoView {
    let Value::Choice { options, .. } = field.value else {
        return Vec::new();
    };
    options()
        .into_iter()
        .map(|(slug, label)| view! { <option value=slug>{label}</option> })
        .collect::<Vec<_>>()
}

fn field(key: &str) -> &'static Field {
    crate::protocol::fields::field(key).unwrap_or(&FIELDS[0])
}

#[component]
pub fn Controls() -> impl IntoView {
    let p = expect_context::<Playground>();
    let model = move || p.experiment.with(|e| e.model);
    let (model_field, device_field) = (field("model"), field("device"));
    view! {
        <form class="controls" aria-label="Experiment settings" on:submit=|ev| ev.prevent_default()>
            <fieldset>
                <legend>"Model"</legend>
                <div class="field">
                    <label for=model_field.id title=model_field.help>{model_field.label}</label>
                    <select
                        id=model_field.id
                        data-testid="model-select"
                        aria-describedby="model-help"
                        prop:value=move || model().slug()
                        on:change=move |ev| {
                            match ModelKind::from_slug(&event_target_value(&ev)) {
                                Some(m) => p.select_model(m),
                                None => p.notify("unknown model; kept the current one"),
                            }
                        }
                    >
                        // `data-gated` lets the end-to-end tests read which models have gates
                        // from the vocabulary, as the page does.
                        {move || {
                            let data = p.experiment.with(|e| e.data);
                            models_on(data)
                                .map(|m| view! { <option value=m.slug() data-gated=m.has_gates().to_string()>{m.label()}</option> })
                                .collect_view()
                        }}
                    </select>
                    <small id="model-help">{move || note(model()).blurb}</small>
                </div>
                {group_fields(p, Group::Model)}
                <details class="more">
                    <summary>"Gates and regularisation"</summary>
                    {group_fields(p, Group::ModelMore)}
                </details>
            </fieldset>
            <fieldset>
                <legend>"Training"</legend>
                {group_fields(p, Group::Training)}
                <SeedSweepControl />
            </fieldset>
            <fieldset>
                <legend>"Data and device"</legend>
                {group_fields(p, Group::Data)}
                <Show when=move || p.experiment.with(|e| e.data == DataKind::Correlated)>
                    <CorrelationSlider />
                </Show>
                <div class="field">
                    <label for=device_field.id title=device_field.help>{device_field.label}</label>
                    <select id=device_field.id aria-describedby="device-help"
                        prop:value=move || p.experiment.with(|e| e.device.slug())
                        on:change=move |ev| {
                            if let Some(d) = DeviceChoice::from_slug(&event_target_value(&ev)) {
                                p.select_device(d);
                            }
                        }>
                        {choice_options(device_field)}
                    </select>
                    <small id="device-help">{device_field.help}</small>
                </div>
            </fieldset>
        </form>
    }
}

/// "Train N seeds to the end": the Seeds side by side setting's seeds trained to the epoch
/// budget as one build, their runs then grouped with mean ± sd. The count is that setting's,
/// so that a sweep never changes another control behind the learner's back.
#[component]
fn SeedSweepControl() -> impl IntoView {
    let p = expect_context::<Playground>();
    let seeds = move || p.experiment.with(|e| e.replicas);
    view! {
        <div class="field">
            <button type="button" data-testid="seed-repeat" aria-describedby="seed-repeat-help"
                disabled=move || p.dashboard.with(Parts::MODEL, |d| d.info.is_none())
                on:click=move |_| p.start_sweep(p.experiment.with_untracked(|e| e.replicas))>
                {move || match seeds() {
                    1 => "Train 1 seed to the end".to_string(),
                    n => format!("Train {n} seeds to the end"),
                }}
            </button>
            <small id="seed-repeat-help">"Trains the seeds above (Seeds side by side, from the Seed on) to the end, as one computation. The plots show their mean in bold and each seed faintly; Runs then shows each task's mean ± sd: how far runs differ by chance alone."</small>
        </div>
    }
}
