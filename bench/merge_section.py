#!/usr/bin/env python3
"""Puts a section (a markdown file starting with its heading) into a document: replaces the
section with the same heading up to the next `## ` heading, or appends it. The document is
written aside and moved into place, so a failure never leaves it half-written.

  merge_section.py DOCUMENT SECTION_FILE "## Heading"
"""
import os
import sys

document, section_file, heading = sys.argv[1:4]
text = open(document).read() if os.path.exists(document) else ""
section = open(section_file).read().strip() + "\n"
start = text.find(heading)
if start < 0:
    merged = text.rstrip() + "\n\n" + section
else:
    end = text.find("\n## ", start + len(heading))
    merged = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
with open(document + ".new", "w") as f:
    f.write(merged)
os.replace(document + ".new", document)
