//! The controls: the model, its sizes, the training settings, the data and the device. Each
//! says what it does; each edit goes through [`Playground::update`], which clamps it and decides
//! whether the model must be rebuilt.

use leptos::prelude::*;

use super::Playground;
use crate::experiment::{
    DeviceChoice, Experiment, Knob, ModelChoice, format_units, limits, parse_units,
};

/// A number input bound to one field of the experiment.
#[component]
fn NumberField(
    /// The input's id, which its label points at.
    id: &'static str,
    label: &'static str,
    /// One line on what the control does.
    help: &'static str,
    min: f64,
    max: f64,
    /// `"any"` or a step size.
    step: &'static str,
    read: fn(&Experiment) -> f64,
    write: fn(&mut Experiment, f64),
) -> impl IntoView {
    let p = expect_context::<Playground>();
    let help_id = format!("{id}-help");
    view! {
        <div class="field">
            <label for=id title=help>{label}</label>
            <input
                id=id
                type="number"
                min=min
                max=max
                step=step
                aria-describedby=help_id.clone()
                prop:value=move || p.experiment.with(|e| read(e).to_string())
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    match text.trim().parse::<f64>() {
                        Ok(v) if v.is_finite() => p.update(|e| write(e, v)),
                        _ => {
                            p.notify(format!("{label}: '{text}' is not a number; kept the old value."));
                            p.update(|_| {});
                        }
                    }
                }
            />
            <small id=help_id>{help}</small>
        </div>
    }
}

/// A text input for layer sizes such as `64,32`.
#[component]
fn UnitsField(
    id: &'static str,
    label: &'static str,
    help: &'static str,
    read: fn(&Experiment) -> Vec<usize>,
    write: fn(&mut Experiment, Vec<usize>),
) -> impl IntoView {
    let p = expect_context::<Playground>();
    let help_id = format!("{id}-help");
    view! {
        <div class="field">
            <label for=id title=help>{label}</label>
            <input
                id=id
                type="text"
                inputmode="numeric"
                aria-describedby=help_id.clone()
                prop:value=move || p.experiment.with(|e| format_units(&read(e)))
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    match parse_units(&text) {
                        Ok(units) => p.update(|e| write(e, units)),
                        Err(why) => {
                            p.notify(format!("{label}: {why}; kept the old value."));
                            p.update(|_| {});
                        }
                    }
                }
            />
            <small id=help_id>{help}</small>
        </div>
    }
}

fn write_seed(e: &mut Experiment, v: f64) {
    e.seed = if v >= 0.0 {
        v.min(limits::SEED_MAX as f64) as u64
    } else {
        0
    };
}

fn as_usize(v: f64) -> usize {
    if v.is_finite() && v > 0.0 {
        v.round().min(1e9) as usize
    } else {
        0
    }
}

#[component]
pub fn Controls() -> impl IntoView {
    let p = expect_context::<Playground>();
    let model = move || p.experiment.with(|e| e.model);
    let uses = move |k: Knob| model().uses(k);
    view! {
        <form class="controls" aria-label="Experiment settings" on:submit=|ev| ev.prevent_default()>
            <fieldset>
                <legend>"Model"</legend>
                <div class="field">
                    <label for="model" title="The architecture to train. Changing it resets the model.">"Architecture"</label>
                    <select
                        id="model"
                        data-testid="model-select"
                        aria-describedby="model-help"
                        prop:value=move || model().slug()
                        on:change=move |ev| {
                            match ModelChoice::from_slug(&event_target_value(&ev)) {
                                Some(m) => p.select_model(m),
                                None => p.notify("unknown model; kept the current one"),
                            }
                        }
                    >
                        {ModelChoice::ALL
                            .into_iter()
                            .map(|m| view! { <option value=m.slug()>{m.label()}</option> })
                            .collect_view()}
                    </select>
                    <small id="model-help">{move || model_blurb(model())}</small>
                </div>
                <Show when=move || uses(Knob::Experts)>
                    <NumberField id="experts" label="Experts" help="Expert networks every task's gate mixes."
                        min=limits::EXPERTS.0 as f64 max=limits::EXPERTS.1 as f64 step="1"
                        read=|e| e.experts as f64 write=|e, v| e.experts = as_usize(v) />
                </Show>
                <Show when=move || uses(Knob::SpecificExperts)>
                    <NumberField id="specific" label="Task-specific experts" help="Experts only one task's gate sees, per task and level."
                        min=limits::SPECIFIC_EXPERTS.0 as f64 max=limits::SPECIFIC_EXPERTS.1 as f64 step="1"
                        read=|e| e.specific_experts as f64 write=|e, v| e.specific_experts = as_usize(v) />
                    <NumberField id="shared" label="Shared experts" help="Experts every task's gate sees, per level."
                        min=limits::SHARED_EXPERTS.0 as f64 max=limits::SHARED_EXPERTS.1 as f64 step="1"
                        read=|e| e.shared_experts as f64 write=|e, v| e.shared_experts = as_usize(v) />
                </Show>
                <Show when=move || uses(Knob::Levels)>
                    <NumberField id="levels" label="Levels" help="Stacked extraction layers; PLE with 1 level is CGC."
                        min=limits::LEVELS.0 as f64 max=limits::LEVELS.1 as f64 step="1"
                        read=|e| e.levels as f64 write=|e, v| e.levels = as_usize(v) />
                </Show>
                <Show when=move || uses(Knob::ExpertUnits)>
                    <UnitsField id="expert-units" label="Expert layers" help="Hidden units of each expert, comma-separated."
                        read=|e| e.expert_units.clone() write=|e, u| e.expert_units = u />
                </Show>
                <Show when=move || uses(Knob::BottomUnits)>
                    <UnitsField id="bottom-units" label="Bottom layers" help="Hidden units of the shared bottom (each task's own network for single-task)."
                        read=|e| e.bottom_units.clone() write=|e, u| e.bottom_units = u />
                </Show>
                <UnitsField id="tower-units" label="Tower layers" help="Hidden units of each task's tower before its output."
                    read=|e| e.tower_units.clone() write=|e, u| e.tower_units = u />
                <NumberField id="embedding" label="Embedding dim" help="Width of each categorical field's embedding."
                    min=limits::EMBEDDING_DIM.0 as f64 max=limits::EMBEDDING_DIM.1 as f64 step="1"
                    read=|e| e.embedding_dim as f64 write=|e, v| e.embedding_dim = as_usize(v) />
            </fieldset>
            <fieldset>
                <legend>"Training"</legend>
                <NumberField id="lr" label="Learning rate" help="Adam's step size. Takes effect live, without a reset."
                    min=limits::LEARNING_RATE.0 max=limits::LEARNING_RATE.1 step="any"
                    read=|e| e.learning_rate write=|e, v| e.learning_rate = v />
                <NumberField id="batch" label="Batch size" help="Rows per training step."
                    min=limits::BATCH_SIZE.0 as f64 max=limits::BATCH_SIZE.1 as f64 step="1"
                    read=|e| e.batch_size as f64 write=|e, v| e.batch_size = as_usize(v) />
                <NumberField id="weight1" label="Loss weight, task 1" help="How much task 1's loss counts. Live."
                    min=limits::LOSS_WEIGHT.0 as f64 max=limits::LOSS_WEIGHT.1 as f64 step="0.1"
                    read=|e| e.loss_weights[0] as f64 write=|e, v| e.loss_weights[0] = v as f32 />
                <NumberField id="weight2" label="Loss weight, task 2" help="How much task 2's loss counts. Live."
                    min=limits::LOSS_WEIGHT.0 as f64 max=limits::LOSS_WEIGHT.1 as f64 step="0.1"
                    read=|e| e.loss_weights[1] as f64 write=|e, v| e.loss_weights[1] = v as f32 />
                <NumberField id="epochs" label="Epochs" help="Training stops by itself after this many passes over the data."
                    min=limits::EPOCHS.0 as f64 max=limits::EPOCHS.1 as f64 step="1"
                    read=|e| e.epochs as f64 write=|e, v| e.epochs = as_usize(v) />
                <NumberField id="seed" label="Seed" help="Decides the initial weights and the batch order. Same seed, same run."
                    min=0.0 max=limits::SEED_MAX as f64 step="1"
                    read=|e| e.seed as f64 write=write_seed />
            </fieldset>
            <fieldset>
                <legend>"Data and device"</legend>
                <div class="field check">
                    <input id="relationship" type="checkbox" aria-describedby="relationship-help"
                        prop:checked=move || p.experiment.with(|e| e.relationship)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            p.update(|e| e.relationship = on);
                        } />
                    <label for="relationship">"Use the relationship field"</label>
                    <small id="relationship-help">"It leaks the never-married label (husband, wife, own-child…). Turn it off and watch task 2's AUC fall."</small>
                </div>
                <div class="field">
                    <label for="device" title="Where training runs.">"Device"</label>
                    <select id="device" aria-describedby="device-help"
                        prop:value=move || p.experiment.with(|e| e.device.slug())
                        on:change=move |ev| {
                            if let Some(d) = DeviceChoice::from_slug(&event_target_value(&ev)) {
                                p.select_device(d);
                            }
                        }>
                        <option value="auto">"Auto"</option>
                        <option value="cpu">"CPU"</option>
                        <option value="webgpu">"WebGPU"</option>
                    </select>
                    <small id="device-help">"Auto picks WebGPU on a real GPU and the CPU device otherwise."</small>
                </div>
            </fieldset>
        </form>
    }
}

/// One line on each model: what it adds.
pub fn model_blurb(m: ModelChoice) -> &'static str {
    match m {
        ModelChoice::SingleTask => "Two separate networks: the baseline that shares nothing.",
        ModelChoice::SharedBottom => "One shared network under two task towers (Caruana, 1997).",
        ModelChoice::Omoe => "Several experts mixed by one gate for all tasks.",
        ModelChoice::Mmoe => "Several experts; each task has its own gate (Ma et al., KDD 2018).",
        ModelChoice::Cgc => {
            "Each task gets its own experts besides the shared ones (Tang et al., RecSys 2020)."
        }
        ModelChoice::Ple => {
            "CGC stacked in levels, with a shared gate between them (Tang et al., RecSys 2020)."
        }
        ModelChoice::Esmm => "pCTCVR = pCTR × pCVR over shared embeddings (Ma et al., SIGIR 2018).",
    }
}
