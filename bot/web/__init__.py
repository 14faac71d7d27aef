"""The project's web server (port 8080): demo page with the widget, kiosk, clinician inbox."""
