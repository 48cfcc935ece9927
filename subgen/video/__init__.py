"""Video outputs: subtitles burnt in or muxed as soft tracks."""
