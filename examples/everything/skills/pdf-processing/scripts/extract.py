"""Prints the text of each page of a PDF, one block per page."""
import sys

from pypdf import PdfReader

for number, page in enumerate(PdfReader(sys.argv[1]).pages, start=1):
    print(f"--- page {number} ---")
    print(page.extract_text())
