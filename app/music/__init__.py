"""Music: playlists and the player engine. Plain Python, no Qt."""
