"""In-year events and the pack's event rules: typed events, two detectors (durable_rules and a plain
reference held equal by a differential test), and a firm's effective decision at a date."""

from mujun.events.durable import DurableDetector
from mujun.events.effective import (AppliedEffect, BaseDecision, Detector, EffectiveDecision, apply_firings,
                                    decision_changes, effective_decision)
from mujun.events.explain import explain_effective
from mujun.events.model import Event, FieldViolation, Rejected, in_order, parse_events, read_events
from mujun.events.reference import Firing, detect_reference

__all__ = [
    "Event", "FieldViolation", "Rejected", "parse_events", "read_events", "in_order",
    "Firing", "detect_reference", "DurableDetector",
    "BaseDecision", "AppliedEffect", "EffectiveDecision", "Detector", "apply_firings", "effective_decision",
    "decision_changes", "explain_effective",
]
