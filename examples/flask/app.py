"""The Octoway Flask example: users log in with Flask's own session; /octoway/auth is the
gateway's WS_AUTH_URL; notes inserted into SQLite and messages from a view are pushed to the
users' browsers through Octoway. Run: python3 app.py (settings from the environment, see
examples/README.md)."""
import logging
import os
import sqlite3
import sys
from functools import wraps
from pathlib import Path

from flask import Flask, abort, g, jsonify, redirect, render_template, request, send_from_directory, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

REPO = Path(__file__).resolve().parent.parent.parent
try:
    import octoway  # noqa: F401  (pip install clients/python, or PYTHONPATH)
except ImportError:
    sys.path.insert(0, str(REPO / "clients" / "python"))
from octoway import Octoway, OctowayError  # noqa: E402

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("FLASK_SECRET_KEY", "example-only-not-secret"),
    DATABASE=os.environ.get("FLASK_DB", str(Path(__file__).with_name("notes.sqlite3"))),
    OCTOWAY_WS_URL=os.environ.get("OCTOWAY_WS_URL", "ws://127.0.0.1:7890/ws"),
    # Lax keeps the session cookie off cross-site POSTs (this example has no CSRF tokens; add
    # Flask-WTF in a real app) and still sends it with the WebSocket upgrade from this site.
    SESSION_COOKIE_SAMESITE="Lax",
)
octoway_client = Octoway(
    os.environ.get("OCTOWAY_URL", "http://127.0.0.1:7890"),
    os.environ.get("OCTOWAY_LOGIN", "admin"),
    os.environ.get("OCTOWAY_PASSWORD", ""),
    timeout=3,
    retries=2,
)
log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (email TEXT PRIMARY KEY, password TEXT NOT NULL, organization TEXT);
CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL, text TEXT NOT NULL);
"""


def db():
    if "db" not in g:
        g.db = sqlite3.connect(app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def close_db(_exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def init_db():
    """Creates the tables and the demo users: alice@example.com (acme), bob@example.com (globex)."""
    with app.app_context():
        db().executescript(SCHEMA)
        for name, org in (("alice", "acme"), ("bob", "globex")):
            db().execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?)",
                         ("%s@example.com" % name, generate_password_hash("%s-password" % name), org))
        db().commit()


def push(key, value, **options):
    """Publishes without letting a push failure fail the request that caused it."""
    try:
        return octoway_client.publish(key, value, **options)
    except OctowayError as error:
        log.warning("octoway publish to a key failed: %s", error.code)
        return None


def current_user():
    email = session.get("email")
    if email is None:
        return None
    return db().execute("SELECT email, organization FROM users WHERE email = ?", (email,)).fetchone()


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("login"))
        return view(*args, **kwargs)
    return wrapped


@app.get("/octoway/auth")
def octoway_auth():
    """WS_AUTH_URL: Octoway forwards the browser's cookies here on every WebSocket upgrade, so
    Flask's own session cookie says who it is. 401 when nobody is logged in, else the user in
    Goctopus's shape, which Octoway's default exporter maps to the keys email and organization_name."""
    user = current_user()
    if user is None:
        return jsonify(detail="not logged in"), 401
    return jsonify(user={"email": user["email"], "organization_name": user["organization"]})


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        row = db().execute("SELECT email, password FROM users WHERE email = ?", (request.form.get("email", ""),)).fetchone()
        if row is not None and check_password_hash(row["password"], request.form.get("password", "")):
            session.clear()
            session["email"] = row["email"]
            return redirect(url_for("home"))
    return render_template("login.html")


@app.get("/")
@login_required
def home():
    return render_template("home.html", user=current_user(), ws_url=app.config["OCTOWAY_WS_URL"])


@app.post("/notes")
@login_required
def add_note():
    """Publishing from an insert: the note is committed to SQLite, then pushed to its owner. The
    message_id makes the publish idempotent, so a retried request is not delivered twice."""
    user = current_user()
    cursor = db().execute("INSERT INTO notes (email, text) VALUES (?, ?)", (user["email"], request.form.get("text", "")))
    db().commit()
    note_id = cursor.lastrowid
    push(user["email"], {"type": "note", "id": note_id, "text": request.form.get("text", "")}, expire="1h", message_id="note-%d" % note_id)
    return jsonify(id=note_id), 201


@app.post("/broadcast")
@login_required
def broadcast():
    """Publishing from a view: a message to everyone in the user's organisation."""
    user = current_user()
    if user["organization"] is None:
        abort(400)
    answer = push(user["organization"], {"type": "broadcast", "from": user["email"], "text": request.form.get("text", "")}, expire="5m")
    return jsonify(published=answer is not None, answer=answer), 200 if answer else 502


@app.get("/static/octoway.js")
def octoway_js():
    """The browser SDK, served from the repository's clients/js."""
    return send_from_directory(REPO / "clients" / "js", "octoway.js", mimetype="text/javascript")


if __name__ == "__main__":
    init_db()
    app.run(host=os.environ.get("FLASK_HOST", "127.0.0.1"), port=int(os.environ.get("FLASK_PORT", "5000")))
