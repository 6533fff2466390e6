"""GitHub's rules for an Action listed on the Marketplace, applied to parsed `action.yml`
metadata (pure): required fields, input ids and descriptions, branding icon and color."""

from __future__ import annotations

import re
from typing import Any

# The Feather icons (v4.28) that Actions branding accepts: brand logos and a few others
# are left out by GitHub.
_ICON_NAMES = """
    activity airplay alert-circle alert-octagon alert-triangle align-center align-justify
    align-left align-right anchor aperture archive arrow-down-circle arrow-down-left
    arrow-down-right arrow-down arrow-left-circle arrow-left arrow-right-circle arrow-right
    arrow-up-circle arrow-up-left arrow-up-right arrow-up at-sign award bar-chart-2 bar-chart
    battery-charging battery bell-off bell bluetooth bold book-open book bookmark box briefcase
    calendar camera-off camera cast check-circle check-square check chevron-down chevron-left
    chevron-right chevron-up chevrons-down chevrons-left chevrons-right chevrons-up circle
    clipboard clock cloud-drizzle cloud-lightning cloud-off cloud-rain cloud-snow cloud code
    command compass copy corner-down-left corner-down-right corner-left-down corner-left-up
    corner-right-down corner-right-up corner-up-left corner-up-right cpu credit-card crop
    crosshair database delete disc dollar-sign download-cloud download droplet edit-2 edit-3
    edit external-link eye-off eye fast-forward feather file-minus file-plus file-text file
    film filter flag folder-minus folder-plus folder gift git-branch git-commit git-merge
    git-pull-request globe grid hard-drive hash headphones heart help-circle home image inbox
    info italic layers layout life-buoy link-2 link list loader lock log-in log-out mail
    map-pin map maximize-2 maximize menu message-circle message-square mic-off mic minimize-2
    minimize minus-circle minus-square minus monitor moon more-horizontal more-vertical move
    music navigation-2 navigation octagon package paperclip pause-circle pause percent
    phone-call phone-forwarded phone-incoming phone-missed phone-off phone-outgoing phone
    pie-chart play-circle play plus-circle plus-square plus pocket power printer radio
    refresh-ccw refresh-cw repeat rewind rotate-ccw rotate-cw rss save scissors search send
    server settings share-2 share shield-off shield shopping-bag shopping-cart shuffle sidebar
    skip-back skip-forward slash sliders smartphone speaker square star stop-circle sun sunrise
    sunset tablet tag target terminal thermometer thumbs-down thumbs-up toggle-left
    toggle-right trash-2 trash trending-down trending-up triangle truck tv type umbrella
    underline unlock upload-cloud upload user-check user-minus user-plus user-x user users
    video-off video voicemail volume-1 volume-2 volume-x volume watch wifi-off wifi wind
    x-circle x-square x zap-off zap zoom-in zoom-out
"""
ALLOWED_ICONS = frozenset(_ICON_NAMES.split())
ALLOWED_COLORS = frozenset(
    {"white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"}
)
# Marketplace category names an Action may not take as its name.
RESERVED_NAMES = frozenset(
    {
        "api-management",
        "chat",
        "code-quality",
        "code-review",
        "continuous-integration",
        "dependency-management",
        "deployment",
        "ides",
        "learning",
        "localization",
        "mobile",
        "monitoring",
        "project-management",
        "publishing",
        "recently-added",
        "security",
        "support",
        "testing",
        "utilities",
    }
)
RUNNERS = frozenset({"composite", "docker", "node16", "node20", "node24"})
INPUT_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MAX_DESCRIPTION = 125


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")


def problems(action: Any) -> list[str]:
    """Every reason the metadata could not be listed; empty when it can."""
    if not isinstance(action, dict):
        return ["action.yml must be a mapping"]
    found: list[str] = []
    for field in ("name", "description", "author", "runs", "branding"):
        if not action.get(field):
            found.append(f"{field} is required")
    name, description = action.get("name"), action.get("description")
    if isinstance(name, str) and _slug(name) in RESERVED_NAMES:
        found.append(f"name {name!r} is a Marketplace category")
    if isinstance(description, str) and len(description) > MAX_DESCRIPTION:
        found.append(f"description is longer than {MAX_DESCRIPTION} characters")
    found += _branding_problems(action.get("branding"))
    found += _input_problems(action.get("inputs") or {})
    runs = action.get("runs")
    if isinstance(runs, dict) and runs.get("using") not in RUNNERS:
        found.append(f"runs.using must be one of {', '.join(sorted(RUNNERS))}")
    return found


def _branding_problems(branding: Any) -> list[str]:
    if not isinstance(branding, dict):
        return []
    found = []
    if branding.get("icon") not in ALLOWED_ICONS:
        found.append(f"branding.icon {branding.get('icon')!r} is not an allowed Feather icon")
    if branding.get("color") not in ALLOWED_COLORS:
        found.append(f"branding.color {branding.get('color')!r} is not an allowed color")
    return found


def _input_problems(inputs: Any) -> list[str]:
    if not isinstance(inputs, dict):
        return ["inputs must be a mapping"]
    found = []
    for key, spec in inputs.items():
        if not INPUT_ID.match(str(key)):
            found.append(f"input id {key!r} must start with a letter or _ and hold [A-Za-z0-9_-]")
        if not isinstance(spec, dict) or not spec.get("description"):
            found.append(f"input {key!r} needs a description")
    return found


def workflow_problems(workflow: Any, action: dict[str, Any], uses_prefix: str) -> list[str]:
    """Steps of `workflow` that use the Action (`uses` starting with `uses_prefix`) pass only
    inputs it declares and every input it requires."""
    inputs = action.get("inputs") or {}
    required = {k for k, v in inputs.items() if isinstance(v, dict) and v.get("required")}
    found: list[str] = []
    steps = [
        step
        for job in (workflow.get("jobs") or {}).values()
        for step in job.get("steps") or []
        if str(step.get("uses", "")).startswith(uses_prefix)
    ]
    if not steps:
        found.append(f"no step uses {uses_prefix}")
    for step in steps:
        given = step.get("with") or {}
        found += [f"unknown input {k!r}" for k in sorted(set(given) - set(inputs))]
        found += [f"missing required input {k!r}" for k in sorted(required - set(given))]
    return found
