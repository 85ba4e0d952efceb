package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// chartSeries is one bar colour: a configuration measured on every model (NaN or 0 = not measured).
type chartSeries struct {
	Name   string
	Values []float64 // one per model, in the order of chart.Models
}

// chart is a grouped bar chart of throughput per model on a logarithmic y axis.
type chart struct {
	Title  string
	YLabel string   // e.g. "tokens/s (log scale)"
	Models []string // x-axis groups, e.g. "125M", "500M", "1B", "3B"
	Series []chartSeries
}

// Canvas size and plot area in pixels: the top leaves room for the title, the legend and the
// value printed above the tallest bar; the left for tick labels and the vertical y label.
const (
	chartW, chartH = 960, 540
	plotL, plotR   = 84, chartW - 24
	plotT, plotB   = 104, chartH - 40
	maxTicks       = 12 // more 1-2-5 ticks than this crowd the axis, so fall back to decades
	maxBarW        = 90 // keeps a lone bar from turning into a slab
)

// seriesColors is the Okabe–Ito palette without its yellow (too faint on white): the colours
// stay distinct under the common forms of colour blindness.
var seriesColors = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
}

var (
	inkColor   = color.RGBA{0x22, 0x22, 0x22, 0xFF}
	axisColor  = color.RGBA{0x55, 0x55, 0x55, 0xFF}
	mutedColor = color.RGBA{0x80, 0x80, 0x80, 0xFF}
	gridColor  = color.RGBA{0xE4, 0xE4, 0xE4, 0xFF}
)

// writePNG renders c as a grouped bar chart into path (created or truncated).
func (c chart) writePNG(path string) error {
	// Validate first so that a bad chart never leaves a misleading picture behind.
	if err := c.validate(); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing chart: %w", err)
	}
	if err := png.Encode(f, c.render()); err != nil {
		f.Close()
		return fmt.Errorf("writing chart %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing chart: %w", err)
	}
	return nil
}

// render draws the chart into an image (writePNG uses it; tests use it directly). A chart that
// fails validation gets its error message drawn instead of bars, so render never panics.
func (c chart) render() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, chartW, chartH))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	title := scaledMask(textMask(c.Title), 2)
	paintMask(img, title, (chartW-title.Rect.Dx())/2, 14, inkColor)
	if err := c.validate(); err != nil {
		msg := textMask(err.Error())
		paintMask(img, msg, max(0, (chartW-msg.Rect.Dx())/2), chartH/2, inkColor)
		return img
	}
	c.drawLegend(img)
	ticks := logTicks(c.valueRange())
	lo, hi := ticks[0], ticks[len(ticks)-1]
	// Grid first and axes last, so bars cover the grid lines but not the axes.
	c.drawGrid(img, ticks, lo, hi)
	c.drawBars(img, lo, hi)
	fillRect(img, image.Rect(plotL, plotT, plotL+1, plotB+1), axisColor)
	fillRect(img, image.Rect(plotL, plotB, plotR, plotB+1), axisColor)
	return img
}

// validate reports what makes c impossible to draw, phrased as what to change.
func (c chart) validate() error {
	switch {
	case len(c.Models) == 0:
		return fmt.Errorf("chart %q has no models: add at least one model name", c.Title)
	case len(c.Series) == 0:
		return fmt.Errorf("chart %q has no series: add at least one configuration", c.Title)
	case len(c.Series) > len(seriesColors):
		return fmt.Errorf("chart %q has %d series but only %d colours: split it into several charts",
			c.Title, len(c.Series), len(seriesColors))
	}
	measured := false
	for _, s := range c.Series {
		if len(s.Values) != len(c.Models) {
			return fmt.Errorf("chart %q: series %q has %d values for %d models: give one per model (NaN when not measured)",
				c.Title, s.Name, len(s.Values), len(c.Models))
		}
		for i, v := range s.Values {
			if v < 0 || math.IsInf(v, 0) {
				return fmt.Errorf("chart %q: series %q, model %s: %g cannot go on a log axis: use a positive value, or NaN when not measured",
					c.Title, s.Name, c.Models[i], v)
			}
			measured = measured || v > 0
		}
	}
	if !measured {
		return fmt.Errorf("chart %q has no measured values (all NaN or 0): nothing to plot", c.Title)
	}
	return nil
}

// valueRange returns the smallest and largest measured value; validate guarantees one exists.
func (c chart) valueRange() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	return lo, hi
}

// logTicks returns 1-2-5 ticks from the largest tick strictly below lo (so the smallest bar
// still has some height) up to the smallest tick at or above hi; decades only if that is too many.
func logTicks(lo, hi float64) []float64 {
	var ticks []float64
	for _, mantissas := range [][]float64{{1, 2, 5}, {1}} {
		// Candidates from a decade below lo to a decade above hi, in increasing order; the
		// extra decade on each side absorbs Log10 rounding at exact powers of ten.
		var all []float64
		for e := int(math.Floor(math.Log10(lo))) - 1; e <= int(math.Ceil(math.Log10(hi)))+1; e++ {
			for _, m := range mantissas {
				all = append(all, m*math.Pow10(e))
			}
		}
		first := 0
		for all[first+1] < lo {
			first++
		}
		last := first
		for all[last] < hi {
			last++
		}
		ticks = all[first : last+1]
		if len(ticks) <= maxTicks {
			break
		}
	}
	return ticks
}

// yOf maps a value to a pixel row on the log axis that runs from lo at plotB to hi at plotT.
func yOf(v, lo, hi float64) int {
	f := math.Log10(v/lo) / math.Log10(hi/lo)
	return plotB - int(math.Round(f*(plotB-plotT)))
}

// sigFigs prints v with 3 significant digits ("87.3", "0.76") but never in exponent form.
func sigFigs(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// drawLegend puts one swatch and name per series in a centred row under the title.
func (c chart) drawLegend(img *image.RGBA) {
	const swatch, gap, spacing, y = 14, 6, 28, 58
	names := make([]*image.Alpha, len(c.Series))
	width := -spacing
	for i, s := range c.Series {
		names[i] = textMask(s.Name)
		width += swatch + gap + names[i].Rect.Dx() + spacing
	}
	x := max(0, (chartW-width)/2)
	for i, name := range names {
		fillRect(img, image.Rect(x, y, x+swatch, y+swatch), seriesColors[i])
		paintMask(img, name, x+swatch+gap, y+1, inkColor)
		x += swatch + gap + name.Rect.Dx() + spacing
	}
}

// drawGrid draws a light line and a label at every tick, and the rotated y-axis label.
func (c chart) drawGrid(img *image.RGBA, ticks []float64, lo, hi float64) {
	for _, t := range ticks {
		y := yOf(t, lo, hi)
		fillRect(img, image.Rect(plotL+1, y, plotR, y+1), gridColor)
		fillRect(img, image.Rect(plotL-5, y, plotL, y+1), axisColor)
		label := textMask(sigFigs(t))
		paintMask(img, label, plotL-9-label.Rect.Dx(), y-7, inkColor)
	}
	ylabel := rotatedMask(textMask(c.YLabel))
	paintMask(img, ylabel, 14, (plotT+plotB-ylabel.Rect.Dy())/2, inkColor)
}

// drawBars draws each model's group of bars with its value on top and its name underneath.
func (c chart) drawBars(img *image.RGBA, lo, hi float64) {
	groupW := (plotR - plotL) / len(c.Models)
	barW := min(groupW*4/5/len(c.Series), maxBarW)
	for i, model := range c.Models {
		left := plotL + i*groupW + (groupW-barW*len(c.Series))/2
		name := textMask(model)
		paintMask(img, name, plotL+i*groupW+(groupW-name.Rect.Dx())/2, plotB+12, inkColor)
		for j, s := range c.Series {
			x := left + j*barW
			v := s.Values[i]
			if !(v > 0) { // NaN or 0: not measured, so say so instead of drawing a bar
				var note *image.Alpha
				for _, text := range []string{"skipped", "n/a", "-"} { // the longest that fits the bar
					if note = textMask(text); note.Rect.Dx() <= barW {
						break
					}
				}
				paintMask(img, note, x+(barW-note.Rect.Dx())/2, plotB-16, mutedColor)
				continue
			}
			top := yOf(v, lo, hi)
			// A 1-pixel white gap on each side keeps neighbouring bars apart.
			fillRect(img, image.Rect(x+1, top, x+barW-1, plotB), seriesColors[j])
			label := textMask(sigFigs(v))
			paintMask(img, label, x+(barW-label.Rect.Dx())/2, top-15, inkColor)
		}
	}
}

// textMask renders s in the 7×13 bitmap font as an opaque-or-clear mask exactly as wide as s.
func textMask(s string) *image.Alpha {
	face := basicfont.Face7x13
	m := image.NewAlpha(image.Rect(0, 0, font.MeasureString(face, s).Ceil(), face.Height))
	d := font.Drawer{Dst: m, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	return m
}

// scaledMask enlarges m k times with nearest-neighbour sampling, which keeps bitmap glyphs crisp.
func scaledMask(m *image.Alpha, k int) *image.Alpha {
	out := image.NewAlpha(image.Rect(0, 0, m.Rect.Dx()*k, m.Rect.Dy()*k))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.SetAlpha(x, y, m.AlphaAt(x/k, y/k))
		}
	}
	return out
}

// rotatedMask turns m a quarter turn counter-clockwise, so text reads bottom to top.
func rotatedMask(m *image.Alpha) *image.Alpha {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewAlpha(image.Rect(0, 0, h, w))
	for y := range h {
		for x := range w {
			out.SetAlpha(y, w-1-x, m.AlphaAt(x, y))
		}
	}
	return out
}

// paintMask draws colour c through m with m's top-left corner at (x, y).
func paintMask(dst *image.RGBA, m *image.Alpha, x, y int, c color.RGBA) {
	r := m.Rect.Add(image.Pt(x, y))
	draw.DrawMask(dst, r, image.NewUniform(c), image.Point{}, m, image.Point{}, draw.Over)
}

// fillRect paints r in c.
func fillRect(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}
