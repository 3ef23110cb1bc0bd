"""Static files as production serves them: collected under hashed names with gzip copies
(WhiteNoise's CompressedManifestStaticFilesStorage), and served compressed and cached for good,
since a changed file gets a new name. (WhiteNoise would add Brotli copies if the Brotli package
were installed; it is not a dependency.)"""

import gzip
import json
import re

from django.core.management import call_command
from django.templatetags.static import static


def test_collectstatic_writes_hashed_names_and_compressed_copies(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path

    call_command("collectstatic", interactive=False, verbosity=0)

    hashed = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]["css/app.css"]
    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", hashed)
    original = (tmp_path / hashed).read_bytes()
    assert gzip.decompress((tmp_path / f"{hashed}.gz").read_bytes()) == original


def test_pages_link_the_hashed_names():
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", static("css/app.css"))


def test_static_files_are_served_compressed_and_cached_for_good(client):
    url = static("css/app.css")

    plain = client.get(url)
    compressed = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})

    assert plain.status_code == compressed.status_code == 200
    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == "gzip"
    assert gzip.decompress(b"".join(compressed.streaming_content)) == b"".join(
        plain.streaming_content
    )
    assert "immutable" in plain["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", plain["Cache-Control"])[1]) >= 365 * 24 * 3600
