//! Collected figures: one row per metric, printed as a table and written as JSON.

use serde::Serialize;

/// A budget figure the project holds itself to.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtLeast(t) => value >= t,
            Target::AtMost(t) => value <= t,
        }
    }

    fn describe(self) -> String {
        match self {
            Target::AtLeast(t) => format!(">= {}", number(t)),
            Target::AtMost(t) => format!("<= {}", number(t)),
        }
    }
}

/// One measured (or not measured) figure.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    pub scenario: String,
    pub name: String,
    /// `None`: not measured; `note` says why.
    pub value: Option<f64>,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// All rows of one run, in the order they were measured.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub metrics: Vec<Metric>,
}

impl Report {
    /// Records a figure; returns it so a target or note can be attached.
    pub fn add(
        &mut self,
        scenario: &str,
        name: impl Into<String>,
        value: f64,
        unit: &str,
    ) -> &mut Metric {
        self.metrics.push(Metric {
            scenario: scenario.to_owned(),
            name: name.into(),
            value: Some(value),
            unit: unit.to_owned(),
            target: None,
            met: None,
            note: None,
        });
        self.metrics.last_mut().expect("just pushed")
    }

    /// Records a figure that could not be measured, with the reason.
    pub fn not_measured(
        &mut self,
        scenario: &str,
        name: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.metrics.push(Metric {
            scenario: scenario.to_owned(),
            name: name.into(),
            value: None,
            unit: String::new(),
            target: None,
            met: None,
            note: Some(format!("not measured: {}", reason.into())),
        });
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let width = self
            .metrics
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(10)
            .max(10);
        let mut out = format!(
            "{:<10} {:<width$} {:>12} {:<8} {:<12} {}\n",
            "scenario", "metric", "value", "unit", "target", "note"
        );
        for m in &self.metrics {
            let value = m.value.map(number).unwrap_or_else(|| "-".into());
            let target = match (m.target, m.met) {
                (Some(t), Some(true)) => format!("{} ok", t.describe()),
                (Some(t), Some(false)) => format!("{} MISS", t.describe()),
                _ => String::new(),
            };
            out.push_str(&format!(
                "{:<10} {:<width$} {:>12} {:<8} {:<12} {}\n",
                m.scenario,
                m.name,
                value,
                m.unit,
                target,
                m.note.as_deref().unwrap_or("")
            ));
        }
        out
    }
}

impl Metric {
    /// Attaches a budget figure and whether this value meets it.
    pub fn target(&mut self, target: Target) -> &mut Self {
        self.target = Some(target);
        self.met = self.value.map(|v| target.met(v));
        self
    }

    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.note = Some(note.into());
        self
    }
}

/// Three significant digits for small numbers, whole numbers for large ones.
fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
