"""Inputs: files, folders, globs, @lists and URLs (yt-dlp) into media items."""
