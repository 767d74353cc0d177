"""What people look at: the PCF report (HTML, PDF), the China PCF label (SVG, PNG) and the disclosure site."""
