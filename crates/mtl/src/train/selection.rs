//! Selection by validation: the one policy the page's worker and the CLI follow. The weights
//! with the best validation loss are kept (the untrained model, at step 0, never is), and a run
//! stops early once `patience` epochs have passed without a better loss (patience 0: it never
//! stops early, it trains its whole budget). Replicas trained side by side each have their own
//! ([`ReplicaSelection`]): their own best point, their own early stop.

/// What one validation point means for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The best loss so far: keep these weights.
    Improved,
    /// Not better, and patience is not yet spent.
    NoBetter,
    /// Not better for `patience` epochs: the run stops here.
    Stop,
}

/// One run's selection state.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Epochs to wait for a better loss; 0 never stops early.
    pub patience: usize,
    pub steps_per_epoch: u64,
    /// The best validation point after step 0: its step and loss.
    best: Option<(u64, f64)>,
}

impl Selection {
    pub fn new(patience: usize, steps_per_epoch: u64) -> Self {
        Self {
            patience,
            steps_per_epoch: steps_per_epoch.max(1),
            best: None,
        }
    }

    /// Takes the validation loss of the weights at `step`. A loss that is not finite is never
    /// the best.
    pub fn observe(&mut self, step: u64, loss: f64) -> Verdict {
        if step > 0 && loss.is_finite() && self.best.is_none_or(|(_, best)| loss < best) {
            self.best = Some((step, loss));
            return Verdict::Improved;
        }
        match self.best {
            Some((best_step, _))
                if self.patience > 0
                    && step.saturating_sub(best_step)
                        >= self.patience as u64 * self.steps_per_epoch =>
            {
                Verdict::Stop
            }
            _ => Verdict::NoBetter,
        }
    }

    /// The best point so far: its step and loss.
    pub fn best(&self) -> Option<(u64, f64)> {
        self.best
    }

    /// Changes the patience from the next point on (the page's field is live).
    pub fn set_patience(&mut self, patience: usize) {
        self.patience = patience;
    }
}

/// What one validation point means for replicas trained side by side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaVerdict {
    /// The replicas whose weights are the best so far: keep theirs.
    pub improved: Vec<usize>,
    /// The replicas that stop at this point (patience spent).
    pub stopped: Vec<usize>,
}

/// Each replica's selection: the run ends early when every replica has stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSelection {
    replicas: Vec<Selection>,
    /// The step each replica stopped at, once it has.
    stopped_at: Vec<Option<u64>>,
}

impl ReplicaSelection {
    pub fn new(replicas: usize, patience: usize, steps_per_epoch: u64) -> Self {
        Self {
            replicas: vec![Selection::new(patience, steps_per_epoch); replicas],
            stopped_at: vec![None; replicas],
        }
    }

    /// Takes every replica's validation loss at `step`; a replica that has stopped takes no
    /// more points (its best weights are final).
    pub fn observe(&mut self, step: u64, losses: &[f64]) -> ReplicaVerdict {
        let mut verdict = ReplicaVerdict::default();
        for (r, (selection, &loss)) in self.replicas.iter_mut().zip(losses).enumerate() {
            if self.stopped_at[r].is_some() {
                continue;
            }
            match selection.observe(step, loss) {
                Verdict::Improved => verdict.improved.push(r),
                Verdict::NoBetter => {}
                Verdict::Stop => {
                    self.stopped_at[r] = Some(step);
                    verdict.stopped.push(r);
                }
            }
        }
        verdict
    }

    /// Whether every replica has stopped early.
    pub fn all_stopped(&self) -> bool {
        self.stopped_at.iter().all(Option::is_some)
    }

    /// Replica `r`'s best point: its step and loss.
    pub fn best(&self, r: usize) -> Option<(u64, f64)> {
        self.replicas.get(r).and_then(Selection::best)
    }

    /// The step replica `r` stopped at, if it has.
    pub fn stopped_at(&self, r: usize) -> Option<u64> {
        self.stopped_at.get(r).copied().flatten()
    }

    pub fn set_patience(&mut self, patience: usize) {
        for s in &mut self.replicas {
            s.set_patience(patience);
        }
    }

    pub fn len(&self) -> usize {
        self.replicas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_keeps_the_best_point_after_step_0_and_stops_after_patience_epochs() {
        // 10 steps an epoch, patience 2: a point 20 steps after the best one stops the run.
        let mut s = Selection::new(2, 10);
        assert_eq!(s.observe(0, 0.1), Verdict::NoBetter, "step 0 is never kept");
        assert_eq!(s.observe(5, 0.9), Verdict::Improved);
        assert_eq!(s.observe(10, 0.5), Verdict::Improved);
        assert_eq!(s.observe(20, 0.6), Verdict::NoBetter);
        assert_eq!(s.observe(29, 0.7), Verdict::NoBetter);
        assert_eq!(s.observe(30, f64::NAN), Verdict::Stop);
        assert_eq!(s.best(), Some((10, 0.5)));
    }

    #[test]
    fn selection_with_patience_0_never_stops() {
        let mut s = Selection::new(0, 1);
        s.observe(1, 0.1);
        for step in 2..1000 {
            assert_eq!(s.observe(step, 1.0), Verdict::NoBetter);
        }
    }

    #[test]
    fn replica_selection_is_each_replicas_own() {
        let mut s = ReplicaSelection::new(2, 1, 10);
        let v = s.observe(10, &[0.5, 0.5]);
        assert_eq!(v.improved, vec![0, 1]);
        // Replica 1 keeps improving; replica 0 does not and stops 10 steps on.
        assert_eq!(s.observe(15, &[0.6, 0.4]).improved, vec![1]);
        let v = s.observe(20, &[0.6, 0.3]);
        assert_eq!((v.improved, v.stopped), (vec![1], vec![0]));
        assert!(!s.all_stopped());
        // A stopped replica takes no more points, even a better one.
        let v = s.observe(25, &[0.1, 0.35]);
        assert!(v.improved.is_empty() && v.stopped.is_empty());
        assert_eq!(s.best(0), Some((10, 0.5)));
        assert_eq!(s.stopped_at(0), Some(20));
        let v = s.observe(30, &[0.1, 0.35]);
        assert_eq!(v.stopped, vec![1]);
        assert!(s.all_stopped());
    }
}
