//! Which device trains, and why. The page probes WebGPU (in `web`), and this plain logic turns
//! the learner's choice and the probe into a backend and a sentence for the device status.

use crate::protocol::experiment::DeviceChoice;
use crate::protocol::{AdapterProbe, Backend};

/// The backend to run, and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub backend: Backend,
    pub reason: String,
}

pub fn plan(choice: DeviceChoice, probe: &AdapterProbe) -> DevicePlan {
    let cpu = |reason: String| DevicePlan {
        backend: Backend::Cpu,
        reason,
    };
    let gpu = |reason: String| DevicePlan {
        backend: Backend::Webgpu,
        reason,
    };
    match (choice, probe) {
        (DeviceChoice::Cpu, _) => cpu("CPU chosen.".into()),
        (_, AdapterProbe::Pending) => cpu("Checking for WebGPU…".into()),
        (DeviceChoice::Auto, AdapterProbe::Hardware(name)) => {
            gpu(format!("Auto: WebGPU adapter {name}."))
        }
        (DeviceChoice::Auto, AdapterProbe::Fallback(name)) => cpu(format!(
            "Auto: the only WebGPU adapter ({name}) is a software fallback, slower than the CPU device."
        )),
        (DeviceChoice::Auto, AdapterProbe::NoApi) => {
            cpu("Auto: this browser has no WebGPU.".into())
        }
        (DeviceChoice::Auto, AdapterProbe::NoAdapter(why)) => {
            cpu(format!("Auto: no WebGPU adapter ({why})."))
        }
        (DeviceChoice::Webgpu, AdapterProbe::Hardware(name)) => {
            gpu(format!("WebGPU chosen: {name}."))
        }
        (DeviceChoice::Webgpu, AdapterProbe::Fallback(name)) => gpu(format!(
            "WebGPU chosen: {name} is a software adapter, expect slow steps."
        )),
        (DeviceChoice::Webgpu, AdapterProbe::NoApi) => {
            cpu("WebGPU chosen, but this browser has no WebGPU: using the CPU device.".into())
        }
        (DeviceChoice::Webgpu, AdapterProbe::NoAdapter(why)) => cpu(format!(
            "WebGPU chosen, but no adapter was found ({why}): using the CPU device."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_auto_uses_only_hardware_adapters() {
        let hw = AdapterProbe::Hardware("nvidia".into());
        let sw = AdapterProbe::Fallback("swiftshader".into());
        assert_eq!(plan(DeviceChoice::Auto, &hw).backend, Backend::Webgpu);
        assert_eq!(plan(DeviceChoice::Auto, &sw).backend, Backend::Cpu);
        assert!(plan(DeviceChoice::Auto, &sw).reason.contains("software"));
        assert_eq!(
            plan(DeviceChoice::Auto, &AdapterProbe::NoApi).backend,
            Backend::Cpu
        );
    }

    #[test]
    fn plan_respects_an_override_where_it_can() {
        let sw = AdapterProbe::Fallback("swiftshader".into());
        assert_eq!(plan(DeviceChoice::Webgpu, &sw).backend, Backend::Webgpu);
        assert_eq!(
            plan(DeviceChoice::Cpu, &AdapterProbe::Hardware("x".into())).backend,
            Backend::Cpu
        );
        let none = plan(
            DeviceChoice::Webgpu,
            &AdapterProbe::NoAdapter("denied".into()),
        );
        assert_eq!(none.backend, Backend::Cpu);
        assert!(none.reason.contains("using the CPU device"));
    }
}
