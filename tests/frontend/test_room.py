"""A classroom room in the browser: the lecturer's page (/room) and three students' playgrounds (/r/CODE) on one
server. The tests share the pages and run in order: join, tiles and names, push, lock, pause, leaderboard and a
student's reload, anonymise, spotlight and snapshots, a restart of the server, the lecturer's reload, end."""

from __future__ import annotations

import re

import pytest
from npm_packages import npm_package
from page_helpers import ARTIFACTS, Server, canvas_colours, contrast_failures, settle, wait_ready

pytestmark = pytest.mark.browser

SETUP = "#dataset=xor&networkShape=3&activation=tanh&learningRate=0.03&seed=7"
NICKNAMES = ["Ada", "Grace", "<img src=x onerror=alert(1)>"]


class Classroom:
    """The lecturer's page, the students' pages (in joining order) and the alerts any of them raised."""

    def __init__(self, lecturer, students, alerts):
        self.lecturer = lecturer
        self.students = students
        self.alerts = alerts

    def tiles(self) -> list[dict]:
        """The dashboard's tiles in their order on screen: the name shown, the rank, the test loss."""
        return self.lecturer.evaluate("""() => [...document.querySelectorAll('.tile-grid .tile-item')].map((t) => ({
            id: t.dataset.student, name: t.querySelector('.tile-name').textContent,
            rank: t.querySelector('.tile-rank').textContent, loss: t.querySelector('.tile-loss').textContent}))""")

    def tile_entries(self) -> dict:
        """The newest `tiles` header's student entries, by nickname."""
        return self.lecturer.evaluate("""() => Object.fromEntries(window.nnplay.lastTiles.header.students
            .map((s) => [s.nickname, s]))""")

    def wait_tiles(self, condition: str, timeout: float = 15_000) -> None:
        """Wait until `condition` (a JS expression over `students`, the newest tiles entries) holds."""
        self.lecturer.wait_for_function(f"""() => {{
            const students = window.nnplay.lastTiles?.header.students ?? [];
            return {condition};
        }}""", timeout=timeout)


def axe_violations(page) -> list[str]:
    """axe-core's violations above minor impact on the page as it is now (as test_page_lecture_a11y.py)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=(npm_package("axe-core", "4.10") / "axe.min.js").read_text())
    return page.evaluate("""async () => (await axe.run()).violations
        .filter((v) => v.impact !== 'minor')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)""")


def open_lecturer(browser, server, alerts: list):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # "End the room?" is confirmed; any other dialog (a nickname's alert()) is recorded
    page.on("dialog", lambda d: (d.type != "confirm" and alerts.append(d.message), d.accept()))
    page.goto(server.url + "/room" + SETUP)
    page.wait_for_function("document.body.dataset.ready === 'true'")
    page.evaluate("() => window.nnplay.hub.on('room:tiles', (m) => (window.nnplay.lastTiles = m))")
    return page


def join(browser, join_url: str, nickname: str, alerts: list):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    page.goto(join_url)
    page.get_by_label("Nickname").fill(nickname)
    page.get_by_role("button", name="Join").click()
    wait_ready(page)
    return page


@pytest.fixture(scope="module")
def room_server():
    """A server of its own: the room limits (join attempts per address, rooms) count per server."""
    running = Server().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def room(browser, room_server):
    server = room_server
    alerts: list[str] = []
    lecturer = open_lecturer(browser, server, alerts)
    lecturer.get_by_role("button", name="Start a room").click()
    code = lecturer.get_by_label("Join code")
    code.wait_for()
    join_url = lecturer.evaluate("window.nnplay.room.join_url")
    students = [join(browser, join_url, name, alerts) for name in NICKNAMES]
    classroom = Classroom(lecturer, students, alerts)
    classroom.wait_tiles("students.length === 3 && students.every((s) => s.tile !== null && s.connected)")
    yield classroom
    for page in [lecturer, *students]:
        page.context.close()


def test_students_join_with_the_lecturers_setup_and_show_as_tiles(room):
    lecturer = room.lecturer
    code = lecturer.evaluate("window.nnplay.room.code")
    assert lecturer.get_by_label("Join code").inner_text().replace("-", "") == code.replace("-", "")
    qr = lecturer.locator("img.join-qr")
    assert qr.evaluate("(img) => img.complete && img.naturalWidth > 0"), "the QR code loads"
    for page in room.students:
        config = page.evaluate("window.nnplay.state.config()")
        assert config["dataset"] == "xor" and config["hidden"] == [3] and config["seed"] == 7
        assert page.get_by_role("region", name="Room").inner_text().startswith("Room ")
    names = sorted(t["name"] for t in room.tiles())
    assert names == sorted(NICKNAMES), "nicknames are shown as the text typed"
    assert lecturer.locator(".tile-grid img").count() == 0, "a nickname is never parsed as HTML"
    assert canvas_colours(lecturer, ".tile-grid .tile-map") > 1, "the tile shows the student's boundary"
    assert contrast_failures(lecturer) == [] and contrast_failures(room.students[0]) == []
    assert axe_violations(lecturer) == [] and axe_violations(room.students[0]) == []
    ARTIFACTS.mkdir(exist_ok=True)
    lecturer.set_viewport_size({"width": 1280, "height": 800})
    lecturer.screenshot(path=str(ARTIFACTS / "room-1280.png"))
    lecturer.set_viewport_size({"width": 1920, "height": 1080})
    assert room.alerts == [] and lecturer.errors == []


def test_tiles_are_painted_with_the_servers_palette(room):
    """A tile's bytes as the protocol gives them: `output` codes on [lo, hi] on the diverging scale, `classes`
    as the palette's class colours (as the playground draws them, at alpha 160 over white)."""
    painted = room.lecturer.evaluate("""async () => {
        const modules = ['room-tiles', 'output-heatmap', 'colors'].map((m) => import(`/js/${m}.js`));
        const [tiles, heat, colors] = await Promise.all(modules);
        const pixels = (bytes, student) => {
            const thumb = heat.gridCanvas(1, 1);
            tiles.paintTile(thumb, Uint8Array.from(bytes), 2, student);
            const d = thumb.ctx.getImageData(0, 0, 2, 2).data;
            return [0, 1, 2, 3].map((i) => Array.from(d.slice(4 * i, 4 * i + 3)));
        };
        const faded = (rgb) => colors.overWhite(rgb);
        return {
            output: pixels([0, 127, 254, 255], {kind: 'output', lo: -1, hi: 1}),
            outputWanted: [colors.SHADES[0], colors.SHADES[15], colors.SHADES[30]].map(faded).concat([colors.NAN_GREY]),
            classes: pixels([0, 1, 2, 0], {kind: 'classes'}),
            classesWanted: [0, 1, 2, 0].map((c) => faded(colors.hexRgb(colors.CLASS_COLORS[c]))),
            curve: (() => { // 1-D data: row 0 holds the curve (here flat at 0), drawn as the playground's 1-D view
                const thumb = heat.gridCanvas(1, 1);
                tiles.paintTile(thumb, Uint8Array.from([127, 127, 0, 0]), 2, {kind: "curve", lo: -1, hi: 1});
                const d = thumb.ctx.getImageData(0, 0, thumb.canvas.width, thumb.canvas.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
                return {width: thumb.canvas.width, line: seen.has(colors.hexRgb(colors.CURVE.line).join(',')),
                        background: seen.has(colors.hexRgb(colors.CURVE.background).join(','))};
            })(),
        };
    }""")
    assert painted["output"] == painted["outputWanted"]
    assert painted["classes"] == painted["classesWanted"]
    assert painted["curve"] == {"width": 8, "line": True, "background": True}


def test_push_lock_and_pause_reach_every_student(room):
    lecturer, students = room.lecturer, room.students
    lecturer.evaluate("window.nnplay.state.set({hidden: [4, 2]})")
    lecturer.get_by_role("button", name="Push this setup to everyone").click()
    for page in students:
        page.wait_for_function("JSON.stringify(window.nnplay.state.values.hidden) === '[4,2]'")
        settle(page)
        page.locator(".notice").filter(has_text="pushed").wait_for()
    room.wait_tiles("students.every((s) => JSON.stringify(s.hidden) === '[4,2]')")

    lecturer.get_by_text("Lock fields").click()
    lecturer.get_by_label("Learning rate", exact=True).check()
    ada = students[0]
    banner = ada.get_by_role("region", name="Room")
    banner.filter(has_text="Locked by the lecturer: Learning rate").wait_for()
    rate = ada.get_by_label("Learning rate", exact=True)
    ada.wait_for_function("document.querySelector('.ui-learningRate select').disabled")
    assert "locked by the lecturer" in rate.get_attribute("title")
    # sent past the disabled control: the server refuses it, the page keeps the room's rate
    ada.evaluate("window.nnplay.socket.send('set', {values: {learning_rate: 0.3}})")
    ada.wait_for_function("window.nnplay.errors.some((e) => e.field === 'learning_rate')")
    assert ada.evaluate("window.nnplay.state.values.learning_rate") == 0.03

    lecturer.get_by_role("button", name="Pause the class").click()
    banner.filter(has_text="paused the class").wait_for()
    ada.wait_for_function("document.querySelector('.ui-playButton').disabled")
    ada.screenshot(path=str(ARTIFACTS / "room-student-1280.png"))
    lecturer.get_by_role("button", name="Play everyone").click()
    ada.wait_for_function("!document.querySelector('.ui-playButton').disabled")
    ada.wait_for_function("window.nnplay.session.playing")
    lecturer.get_by_role("button", name="Pause the class").click()
    ada.wait_for_function("!window.nnplay.session.playing")


def test_the_leaderboard_orders_by_loss_and_by_size(room):
    lecturer, (_, grace, other) = room.lecturer, room.students
    lecturer.get_by_role("button", name="Play everyone").click()  # lift the pause so students may step
    for page in room.students:
        page.wait_for_function("window.nnplay.session.playing")
        page.get_by_role("button", name="Pause").click()
    grace.evaluate("window.nnplay.socket.send('step', {n: 1000})")
    room.wait_tiles("students.find((s) => s.nickname === 'Grace').epoch >= 1000", timeout=30_000)
    lecturer.get_by_label("Leaderboard").select_option("loss")
    lecturer.wait_for_function("document.querySelector('.tile-grid .tile-name').textContent === 'Grace'")
    entries = room.tile_entries()
    shown = [t["name"] for t in room.tiles()]
    assert shown == sorted(shown, key=lambda n: entries[n]["test_loss"]), "lowest test loss first"

    grace.reload()  # a reload rejoins as the same student, with her network where it was
    wait_ready(grace)
    assert "you are Grace" in grace.get_by_role("region", name="Room").inner_text()
    assert grace.evaluate("window.nnplay.session.epoch") >= 1000
    assert len(room.tile_entries()) == 3, "no second Grace"

    other.evaluate("window.nnplay.state.set({hidden: [1]})")  # the smallest network in the room
    room.wait_tiles(f"students.find((s) => s.nickname === {NICKNAMES[2]!r}).params < "
                    "students.find((s) => s.nickname === 'Ada').params")
    lecturer.get_by_label("Leaderboard").select_option("size")
    lecturer.get_by_label("Loss threshold").fill("100")
    lecturer.get_by_label("Loss threshold").dispatch_event("change")
    lecturer.wait_for_function("(n) => document.querySelector('.tile-grid .tile-name').textContent === n",
                               arg=NICKNAMES[2])
    assert room.tiles()[0]["rank"] == "#1"


def test_anonymise_spotlight_and_snapshots(room):
    lecturer = room.lecturer
    lecturer.get_by_label("Anonymise names").check()
    names = [t["name"] for t in room.tiles()]
    assert sorted(names) == ["Student 1", "Student 2", "Student 3"]
    assert not set(names) & set(NICKNAMES)

    lecturer.locator(".tile-grid .tile").first.click()
    spot = lecturer.get_by_role("dialog", name="Spotlight")
    spot.wait_for()
    lecturer.wait_for_function("document.querySelector('.spot-facts').textContent.startsWith('epoch')")
    assert spot.locator(".spot-name").inner_text().startswith("Student ")
    lecturer.wait_for_function("document.querySelectorAll('.spotlight .network-view .node.neuron').length === 1")
    assert canvas_colours(lecturer, ".spotlight .plot canvas.heatmap") > 1
    lecturer.screenshot(path=str(ARTIFACTS / "room-spotlight-1920.png"))
    assert axe_violations(lecturer) == []
    with lecturer.context.expect_page() as opening:
        spot.get_by_role("button", name="Open in playground").click()
    playground = opening.value
    wait_ready(playground)
    loaded = int(re.search(r"network loaded \(epoch (\d+)\)", playground.get_by_label("Notices").inner_text())[1])
    assert playground.evaluate("window.nnplay.session.lastFrame.header.epoch") == loaded
    weights = "window.nnplay.session.currentWeights()"
    assert playground.evaluate(weights) in [student.evaluate(weights) for student in room.students], "one student's"
    playground.close()
    spot.get_by_role("button", name="Snapshot").click()
    lecturer.locator(".snapshot").first.wait_for()
    spot.get_by_role("button", name="Close").click()
    lecturer.locator(".tile-grid .tile").nth(1).click()
    spot.wait_for()
    spot.get_by_role("button", name="Snapshot").click()
    lecturer.wait_for_function("document.querySelectorAll('.snapshot').length === 2")
    spot.get_by_role("button", name="Close").click()
    for i in range(2):
        lecturer.locator(".snapshot").nth(i).click()
    pair = lecturer.get_by_role("dialog", name="Snapshots side by side")
    pair.wait_for()
    assert pair.locator(".snapshot-card").count() == 2
    pair.get_by_role("button", name="Close").click()
    lecturer.get_by_label("Anonymise names").uncheck()
    lecturer.screenshot(path=str(ARTIFACTS / "room-1920.png"))
    projector = lecturer.get_by_role("button", name="Projector view")
    projector.click()
    assert lecturer.get_by_role("region", name="Room controls").is_hidden()
    assert lecturer.get_by_label("Join code").is_visible(), "the code stays on screen for latecomers"
    lecturer.screenshot(path=str(ARTIFACTS / "room-projector-1920.png"))
    projector.click()


def test_a_restart_of_the_server_brings_the_room_back_to_every_page(room, room_server):
    """A SIGTERM (a deploy's restart) and a start on the same port and data folder: the lecturer's page and the
    students' pages reconnect by themselves, every student as themselves, with their network and locks."""
    lecturer, (ada, grace, _) = room.lecturer, room.students
    epoch = grace.evaluate("window.nnplay.session.epoch")
    assert epoch >= 1000 and not grace.evaluate("window.nnplay.session.playing")
    for page in room.students:  # what each page hears from the restarted server
        page.evaluate("() => window.nnplay.hub.on('room', (m) => (window.nnplay.roomAgain = m))")
    room_server.stop()
    lecturer.evaluate("window.nnplay.lastTiles = null")
    room_server.start()
    for page in room.students:
        page.wait_for_function("window.nnplay.roomAgain && !window.nnplay.roomAgain.ended", timeout=30_000)
    room.wait_tiles("students.length === 3 && students.every((s) => s.connected && s.tile !== null)",
                    timeout=30_000)
    grace.wait_for_function("(e) => window.nnplay.session.epoch === e", arg=epoch)
    assert "you are Grace" in grace.get_by_role("region", name="Room").inner_text()
    assert room.tile_entries()["Grace"]["epoch"] == epoch
    ada.get_by_role("region", name="Room").filter(has_text="Locked by the lecturer: Learning rate").wait_for()
    assert all(page.errors == [] for page in [lecturer, *room.students])


def test_a_reloaded_lecturer_page_finds_its_room_and_ends_it(room):
    lecturer, students = room.lecturer, room.students
    code = lecturer.evaluate("window.nnplay.room.code")
    lecturer.reload()  # the key is kept in this browser: the page opens the same room again
    lecturer.wait_for_function("document.body.dataset.ready === 'true'")
    lecturer.evaluate("() => window.nnplay.hub.on('room:tiles', (m) => (window.nnplay.lastTiles = m))")
    assert lecturer.evaluate("window.nnplay.room.code") == code
    room.wait_tiles("students.length === 3")
    lecturer.get_by_role("button", name="End the room").click()
    lecturer.get_by_role("alert").filter(has_text="The room has ended").wait_for()
    for page in students:
        page.wait_for_function("document.querySelector('.room-banner').dataset.ended === 'true'")
        assert not page.locator(".room-locked").count(), "nothing is held once the room has ended"
    assert room.alerts == [], "no nickname ran as script"
    assert all(page.errors == [] for page in [lecturer, *students])
