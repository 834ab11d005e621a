"""The Control Panel on a phone (390 x 844) and on a desktop (1280 px), in Chromium.

On a phone nothing scrolls sideways, every control can be seen and reached
with the Tab key, tables are stacked cards whose values say their column, and
the navigation is a Menu button that works without JavaScript. Everywhere
text, field borders and the focus ring meet WCAG 2.2 AA contrast, a skip link
leads to the main content, and the current page is marked for assistive
technology (``aria-current``) and to the eye by more than an underline.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.contrast import NON_TEXT, parse_color
from tests.e2e.layout.measure import (
    covered,
    horizontal_scroll,
    low_contrast_text,
    outside_viewport,
    ratio_over,
    tab_through,
    weak_field_borders,
    weak_focus_rings,
)
from tests.e2e.layout.site import DESKTOP, PHONE, Contexts, DemoSite
from tests.e2e.pages import main_menu, tab_to

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# The navigation item each main page (DemoSite.pages) marks as the current page.
CURRENT_OF_MAIN = {
    "home": "Home",
    "tickets": "Tickets",
    "ticket": "Tickets",
    "contacts": "Contacts",
    "users": "Users",
    "oauth-clients": "OAuth Client",
    "oauth-client-edit": "OAuth Client",
    "consent": None,
}
# The pages every control of which is walked with the Tab key at both widths.
CHECKED_PAGES = ["ticket", "tickets", "oauth-clients", "oauth-client-edit", "consent"]
# Beside the main pages, the rest of the Control Panel gets the lighter checks.
MORE_PAGES = {
    "/tickets/new": "Tickets",
    "/contacts/new": "Contacts",
    "/users/new": "Users",
    "/settings/security/oauth-clients/new": "OAuth Client",
    "/settings/security/keys": "Signing Keys",
    "/settings/security/audit-log": "Audit Log",
    "/settings/security/two-factor": "Two-Factor",
    "/settings/security/api-keys": "API Key",
    "/settings/security/api-keys/new": "API Key",
    "/account/connected-apps": "Connected apps",
    "/account/security": "Account",
    "/account/two-factor": "Account",
}
SIZES = {"390": PHONE, "1280": DESKTOP}


def path_of(site: DemoSite, name: str) -> str:
    if name == "ticket":
        return f"/tickets/{site.long_ticket_id}"
    return dict(site.pages())[name]


def menu_button(page: Page) -> Locator:
    return main_menu(page).get_by_text("Menu", exact=True)


def current_items(page: Page) -> Locator:
    return main_menu(page).locator('[aria-current="page"]')


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}px" for w in SIZES])
@pytest.mark.parametrize("name", CHECKED_PAGES)
def test_page_fits_and_every_control_is_reachable(
    contexts: Contexts, demo_site: DemoSite, name: str, size: str
) -> None:
    page = contexts.signed_in_page(SIZES[size])
    page.goto(path_of(demo_site, name))
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    width, inner = horizontal_scroll(page)
    assert width <= inner, f"{name} scrolls sideways at {size} px: {width} px wide"
    walk = tab_through(page)
    assert walk.unreached() == [], "controls the Tab key never reaches"
    assert walk.strays == [], "the focus went to elements that are not visible controls"
    assert outside_viewport(walk, inner) == []
    assert covered(walk) == []
    assert weak_focus_rings(walk) == []
    # The Tab walk opened the Menu on a phone: the whole navigation was reached too.
    assert any("Sign out" in c["what"] for c in walk.focused.values())
    assert horizontal_scroll(page)[0] <= inner, "opening the menu made the page scroll sideways"

    assert low_contrast_text(page) == []
    assert weak_field_borders(page) == []
    expected = CURRENT_OF_MAIN[name]
    if expected is None:
        expect(current_items(page)).to_have_count(0)
    else:
        expect(current_items(page)).to_have_count(1)
        expect(current_items(page)).to_have_accessible_name(expected)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}px" for w in SIZES])
def test_every_page_fits_meets_contrast_and_marks_its_place(
    contexts: Contexts, demo_site: DemoSite, size: str
) -> None:
    page = contexts.signed_in_page(SIZES[size])
    found: dict[str, list[str]] = {}
    main = {path: CURRENT_OF_MAIN[name] for name, path in demo_site.pages()}
    for path, current in (main | MORE_PAGES).items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width, inner = horizontal_scroll(page)
        problems = [f"{width} px wide"] if width > inner else []
        problems += low_contrast_text(page) + weak_field_borders(page)
        marked = current_items(page).evaluate_all("items => items.map(i => i.textContent.trim())")
        if marked != ([current] if current else []):
            problems.append(f"the navigation marks {marked} as the current page")
        if problems:
            found[path] = problems
    assert found == {}


@pytest.mark.parametrize("width", [800, 1024, 1100], ids=["800px", "1024px", "1100px"])
def test_no_page_scrolls_sideways_beside_the_navigation(
    contexts: Contexts, demo_site: DemoSite, width: int
) -> None:
    """Where the navigation is a column, tables become cards before they overflow."""
    page = contexts.signed_in_page({"width": width, "height": 800})
    too_wide = {}
    for path in [p for _, p in demo_site.pages()] + list(MORE_PAGES):
        page.goto(path)
        scroll_width, inner = horizontal_scroll(page)
        if scroll_width > inner:
            too_wide[path] = scroll_width
    assert too_wide == {}


def test_ticket_page_reads_in_lines_on_a_phone(contexts: Contexts, demo_site: DemoSite) -> None:
    """Not one word per line: the conversation and the heading take the phone's width."""
    page = contexts.signed_in_page(PHONE)
    page.goto(f"/tickets/{demo_site.long_ticket_id}")
    inner = page.evaluate("innerWidth")
    for part in (
        page.get_by_role("heading", level=1),
        page.get_by_role("article").first,
        page.get_by_role("textbox", name="Message", exact=True),
        page.get_by_role("combobox", name="Status", exact=True),
    ):
        box = part.bounding_box()
        assert box is not None
        assert box["width"] >= 0.8 * inner, f"{part} is {box['width']:.0f} px of {inner}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= inner


def test_tables_are_labelled_cards_on_a_phone_without_javascript(
    contexts: Contexts, demo_site: DemoSite
) -> None:
    page = contexts.signed_in_page(PHONE, javascript=False)
    page.goto("/tickets")
    table = page.get_by_role("table")
    box = table.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]
    headers = page.get_by_role("columnheader").all_inner_texts()
    assert "Subject" in headers
    rows = page.get_by_role("row")
    assert rows.count() > 5, "the stacked rows are still rows to assistive technology"
    labels = (
        table.locator("tbody tr")
        .first.locator("td")
        .evaluate_all("cells => cells.map(c => getComputedStyle(c, '::before').content)")
    )
    assert labels == [f'"{h}"' for h in headers]
    # Each value sits under its label's column, not beside the next value.
    first_cells = table.locator("tbody tr").first.locator("td")
    tops = [first_cells.nth(n).bounding_box()["y"] for n in range(first_cells.count())]  # type: ignore[index]
    assert tops == sorted(tops) and len(set(tops)) == len(tops), "cells are stacked"


def test_cells_without_a_label_borrow_their_column_header(
    contexts: Contexts, demo_site: DemoSite
) -> None:
    """A column added without data-label still names its values where JavaScript runs."""
    page = contexts.signed_in_page(PHONE)
    stripped: list[bool] = []

    def without_labels(route: Route) -> None:
        response = route.fetch()
        body = re.sub(r' data-label="[^"]*"', "", response.text())
        stripped.append("data-label" not in body and "<td" in body)
        route.fulfill(response=response, body=body)

    page.route(re.compile(r"/contacts$"), without_labels)
    page.goto("/contacts")
    assert stripped == [True]
    headers = page.get_by_role("columnheader").all_inner_texts()
    labels = (
        page.get_by_role("table")
        .locator("tbody tr")
        .first.locator("td")
        .evaluate_all("cells => cells.map(c => getComputedStyle(c, '::before').content)")
    )
    assert labels == [f'"{h}"' for h in headers]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}px" for w in SIZES])
def test_skip_link_leads_to_the_main_content(
    contexts: Contexts, demo_site: DemoSite, size: str
) -> None:
    page = contexts.signed_in_page(SIZES[size])
    page.goto(f"/tickets/{demo_site.demo_ticket_id}")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    page.keyboard.press("Tab")
    # The next stop is the breadcrumb's first link, inside the main content.
    assert page.evaluate("document.activeElement.closest('main') !== null")
    expect(page.get_by_role("navigation", name="Breadcrumb").get_by_role("link")).to_be_focused()


def test_skip_link_is_hidden_until_focused(contexts: Contexts, demo_site: DemoSite) -> None:
    page = contexts.signed_in_page(PHONE)
    page.goto("/tickets")
    expect(page.get_by_role("link", name="Skip to main content")).not_to_be_in_viewport()


def test_navigation_collapses_to_a_menu_below_800_px_without_javascript(
    contexts: Contexts, demo_site: DemoSite
) -> None:
    page = contexts.signed_in_page(PHONE, javascript=False)
    page.goto("/tickets")
    nav = main_menu(page)
    expect(menu_button(page)).to_be_visible()
    expect(nav.get_by_role("link", name="Contacts")).to_be_hidden()
    box = nav.bounding_box()
    assert box is not None and box["height"] < 80, "closed, the navigation is one bar"
    menu_button(page).click()
    expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
    expect(nav.get_by_role("link", name="OAuth Client")).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    expect(current_items(page)).to_have_accessible_name("Tickets")
    assert horizontal_scroll(page)[0] <= PHONE["width"]
    # Following a link leaves the menu closed on the next page.
    nav.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", level=1, name="Contacts")).to_be_visible()
    expect(main_menu(page).get_by_role("link", name="Tickets")).to_be_hidden()


def test_escape_closes_the_menu_and_returns_to_its_button(
    contexts: Contexts, demo_site: DemoSite
) -> None:
    page = contexts.signed_in_page(PHONE)
    page.goto("/tickets")
    menu_button(page).focus()
    page.keyboard.press("Enter")
    contacts = main_menu(page).get_by_role("link", name="Contacts")
    expect(contacts).to_be_visible()
    contacts.focus()
    page.keyboard.press("Escape")
    expect(contacts).to_be_hidden()
    expect(menu_button(page)).to_be_focused()


def test_an_open_action_menu_closes_when_the_focus_moves_on(
    contexts: Contexts, demo_site: DemoSite
) -> None:
    page = contexts.signed_in_page(DESKTOP)
    page.goto("/settings/security/oauth-clients")
    first, second = page.get_by_role("cell").get_by_text("Action", exact=True).all()[:2]
    first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Edit").first).to_be_visible()
    second.focus()
    expect(page.get_by_role("menuitem", name="Edit")).to_have_count(0)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_navigation_is_an_inline_column_at_1280_px(
    contexts: Contexts, demo_site: DemoSite, javascript: bool
) -> None:
    page = contexts.signed_in_page(DESKTOP, javascript=javascript)
    page.goto("/tickets")
    nav = main_menu(page)
    expect(menu_button(page)).to_be_hidden()
    for name in ("Home", "Tickets", "Contacts", "Users", "OAuth Client", "Connected apps"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    nav_box, main_box = nav.bounding_box(), page.get_by_role("main").bounding_box()
    assert nav_box is not None and main_box is not None
    assert nav_box["x"] == 0 and nav_box["height"] >= DESKTOP["height"] - 1, "a full-height column"
    assert main_box["x"] >= nav_box["x"] + nav_box["width"], "the content is beside it"
    assert main_box["y"] < 100, "not below it"
    # Shown, and in the Tab order too, without a Menu button in between.
    tab_to(page, nav.get_by_role("button", name="Sign out"))


def test_current_page_is_marked_by_more_than_an_underline(
    contexts: Contexts, demo_site: DemoSite
) -> None:
    page = contexts.signed_in_page(DESKTOP)
    page.goto("/contacts")
    nav = main_menu(page)
    expect(nav.get_by_role("link", name="Contacts")).to_have_attribute("aria-current", "page")
    expect(current_items(page)).to_have_count(1)
    style = "el => [getComputedStyle(el).fontWeight, getComputedStyle(el).backgroundColor, "
    style += "getComputedStyle(el).boxShadow]"
    weight, background, bar = nav.get_by_role("link", name="Contacts").evaluate(style)
    other_weight, other_background, other_bar = nav.get_by_role("link", name="Tickets").evaluate(
        style
    )
    assert int(weight) >= 700 > int(other_weight)
    assert background != other_background
    assert other_bar == "none" and bar != "none"
    bar_color = re.match(r"rgba?\([^)]*\)", bar)
    assert bar_color, bar
    nav_background = nav.evaluate("el => getComputedStyle(el).backgroundColor")
    assert parse_color(nav_background)[3] == 1
    assert ratio_over(bar_color.group(0), [nav_background]) >= NON_TEXT


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}px" for w in SIZES])
def test_login_page_fits_and_meets_contrast(contexts: Contexts, size: str) -> None:
    page = contexts.new(SIZES[size]).new_page()
    page.goto("/login")
    width, inner = horizontal_scroll(page)
    assert width <= inner
    assert low_contrast_text(page) == []
    assert weak_field_borders(page) == []
    walk = tab_through(page)
    assert walk.unreached() == []
    assert outside_viewport(walk, inner) == []
    assert weak_focus_rings(walk) == []
