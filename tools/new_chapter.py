"""Start a chapter from chapters/_template.md and list it in index.md:  make chapter NAME=slug"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

slug = sys.argv[1] if len(sys.argv) > 1 else ""
if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", slug):
    sys.exit(f"make chapter: NAME must be a slug like 'my-topic' (lower case, digits, dashes), not {slug!r}")
target = ROOT / "chapters" / f"{slug}.md"
if target.exists():
    sys.exit(f"make chapter: {target.relative_to(ROOT)} already exists")

title = slug.replace("-", " ").capitalize()
text = (ROOT / "chapters" / "_template.md").read_text(encoding="utf8")
text = text.replace("(chapter-SLUG)=", f"(chapter-{slug})=").replace("# Chapter title", f"# {title}", 1)
text = text.replace("SLUG-1", f"{slug}-1")  # the exercise's check (primer_check.record)
text = text.replace("Next: {doc}`next-slug`.", "Next: the next chapter, linked here with the doc role once it exists.")
target.write_text(text, encoding="utf8")

index = ROOT / "index.md"
toc = index.read_text(encoding="utf8")
chapters = re.findall(r"^chapters/[\w-]+$", toc, flags=re.M)
last = chapters[-1]
index.write_text(toc.replace(f"{last}\n", f"{last}\nchapters/{slug}\n", 1), encoding="utf8")
print(f"Created {target.relative_to(ROOT)} and listed it in index.md after {last}.")
print("Write it, then run `make html` (or `make livehtml` to preview as you write).")
