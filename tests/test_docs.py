"""The README is a front page, and every relative link of the README and docs/ resolves."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_the_readme_results_block_is_what_the_records_in_docs_results_say():
    from asmr_plugin.reproduce import headline

    readme = ROOT / "README.md"
    written = headline.current_block(readme)
    assert written is not None, "the README has no results block"
    assert written == headline.block(ROOT / "docs" / "results", readme), (
        "the README's results block differs from docs/results/*.json: run asmr-reproduce (it rewrites the block)"
    )


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_relative_link_resolves(page):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+://|mailto:|#", target):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"
