#!/usr/bin/python3
# Drives WebKitGTK (Debian's gir1.2-webkit-6.0 / gir1.2-webkit2-4.1, through Python GI, under
# xvfb-run) for meshpeers' WebKit round trips. No network: each origin is a blank page loaded
# with load_html and that origin as its base URI, so no request leaves the process.
#
#   webkit.py write <api> <data-dir> <plan.json>   {origin: [[key, value], ...], ...}
#   webkit.py read  <api> <data-dir> <origin>      prints [[key, value], ...] (sorted)
#   webkit.py hold  <api> <data-dir> <origin>      keeps the origin open until stdin ends
#
# <api> is 6 (webkitgtk-6.0: unified origin storage) or 4.1 (webkit2gtk-4.1: legacy
# .localstorage files). Values travel as JSON, so lone surrogates survive both ways.
import json
import sys
import threading

import gi

cmd, api, data, arg = sys.argv[1:5]
if api == "6":
    gi.require_version("WebKit", "6.0")
    gi.require_version("Gtk", "4.0")
    from gi.repository import GLib, Gtk, WebKit

    Gtk.init()
    session = WebKit.NetworkSession.new(data + "/data", data + "/cache")
    view = WebKit.WebView(network_session=session)
else:
    gi.require_version("WebKit2", "4.1")
    gi.require_version("Gtk", "3.0")
    from gi.repository import GLib, Gtk
    from gi.repository import WebKit2 as WebKit

    Gtk.init(None)
    manager = WebKit.WebsiteDataManager(
        base_data_directory=data + "/data", base_cache_directory=data + "/cache"
    )
    view = WebKit.WebView.new_with_context(
        WebKit.WebContext.new_with_website_data_manager(manager)
    )

loop = GLib.MainLoop()
failure = []


def run(steps):
    """Runs (origin, script, on_result) steps one after another, then quits."""
    steps = list(steps)

    def next_step():
        if not steps:
            # WebKit commits localStorage in batches 500 ms apart: let the last one land.
            GLib.timeout_add(1500, loop.quit)
            return
        origin, script, on_result = steps.pop(0)
        handler = None

        def loaded(v, event):
            nonlocal handler
            if event != WebKit.LoadEvent.FINISHED:
                return
            v.disconnect(handler)

            def done(v, result):
                try:
                    on_result(v.evaluate_javascript_finish(result).to_string())
                except Exception as e:  # noqa: BLE001 - reported, then the run fails
                    failure.append(str(e))
                    loop.quit()
                    return
                next_step()

            v.evaluate_javascript(script, -1, None, None, None, done)

        handler = view.connect("load-changed", loaded)
        view.load_html("<!doctype html><title>t</title>", origin + "/")

    next_step()


def out(text):
    sys.stdout.buffer.write(text.encode("utf-8", "surrogatepass"))
    sys.stdout.flush()


READ = """JSON.stringify(Array.from({length: localStorage.length}, (_, i) => localStorage.key(i))
  .map((k) => [k, localStorage.getItem(k)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))"""

if cmd == "write":
    with open(arg, encoding="utf-8") as f:
        plan = f.read()
    origins = list(json.loads(plan).keys())
    run(
        (
            o,
            "const plan = %s; for (const [k, v] of plan[%s]) localStorage.setItem(k, v); 'ok'"
            % (plan, json.dumps(o)),
            lambda _r: None,
        )
        for o in origins
    )
elif cmd == "read":
    run([(arg, READ, out)])
elif cmd == "hold":

    def ready(_r):
        out("ready\n")

        def wait():
            sys.stdin.read()
            GLib.idle_add(loop.quit)

        threading.Thread(target=wait, daemon=True).start()

    # The page stays open (its storage area and database with it) until stdin ends.
    def loaded(v, event):
        if event == WebKit.LoadEvent.FINISHED:
            v.evaluate_javascript(
                "localStorage.getItem('x'); 'ok'", -1, None, None, None,
                lambda v, r: ready(v.evaluate_javascript_finish(r)),
            )

    view.connect("load-changed", loaded)
    view.load_html("<!doctype html><title>t</title>", arg + "/")
else:
    raise SystemExit("unknown command " + cmd)

loop.run()
if failure:
    raise SystemExit("webkit.py: " + "; ".join(failure))
