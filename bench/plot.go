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

// chartSeries is one bar colour: a configuration measured in every group (NaN or 0 = not
// measured).
type chartSeries struct {
	Name   string
	Values []float64 // one per group, in the order of chart.Groups
}

// chart is a grouped bar chart of throughput on a logarithmic y axis: a group of bars per
// x-axis label, a bar per series.
type chart struct {
	Title  string
	YLabel string   // e.g. "tokens/s (log scale)"
	Groups []string // x-axis labels, e.g. "125M", "500M", or "f32", "bf16" under Sections
	// Sections, when not nil, is a second row of labels, one per group, e.g. the model of
	// each weight type: a run of equal entries gets one label centred under its groups.
	Sections []string
	Series   []chartSeries
}

// The canvas is at least minW × chartH pixels and grows wider with the groups, so that no
// label runs into the next one. The top leaves room for the title, the legend and the value
// printed above the tallest bar; the left for tick labels and the vertical y label; the
// bottom for one or two rows of group labels.
const (
	minW, chartH   = 960, 540
	plotL          = 84
	rightMargin    = 24
	maxTicks       = 12 // more 1-2-5 ticks than this crowd the axis, so fall back to decades
	maxBarW        = 90 // keeps a lone bar from turning into a slab
	minBarW        = 16 // a value label turned upright (13 pixels) fits above it
	minGroupW      = 48
	groupPad       = 10 // between the labels of neighbouring groups
	glyphW, glyphH = 7, 13
)

// layout is where a chart's parts go.
type layout struct {
	w, h                       int
	plotL, plotR, plotT, plotB int
	groupW, barW               int
}

// layout sizes the canvas for c: each group as wide as its label and its bars need.
func (c chart) layout() layout {
	groupW := max(minGroupW, len(c.Series)*minBarW+groupPad)
	for _, g := range c.Groups {
		groupW = max(groupW, len(g)*glyphW+groupPad)
	}
	w := max(minW, plotL+len(c.Groups)*groupW+rightMargin)
	l := layout{w: w, h: chartH, plotL: plotL, plotR: w - rightMargin, plotB: chartH - 40}
	if c.Sections != nil {
		l.plotB = chartH - 58
	}
	if n := len(c.Groups); n > 0 {
		l.groupW = (l.plotR - l.plotL) / n
		if len(c.Series) > 0 {
			l.barW = min((l.groupW-groupPad)/len(c.Series), maxBarW)
		}
	}
	// Above the plot: the legend's rows, then the values over the tallest bars, upright
	// where they are wider than a bar.
	widest := 0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v > 0 {
				widest = max(widest, len(sigFigs(v))*glyphW)
			}
		}
	}
	above := glyphH + 5
	if widest > l.barW {
		above = widest + 6
	}
	l.plotT = legendY + len(c.legendRows(w))*legendRowH + above
	return l
}

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
func (c chart) render() *image.RGBA { return c.draw().RGBA }

// canvas is a chart being drawn, with the boxes of the text painted on it.
type canvas struct {
	*image.RGBA
	l     layout
	texts []image.Rectangle
}

// text paints m in colour ink with its top-left corner at (x, y) and keeps its box.
func (cv *canvas) text(m *image.Alpha, x, y int, ink color.RGBA) {
	paintMask(cv.RGBA, m, x, y, ink)
	cv.texts = append(cv.texts, m.Rect.Add(image.Pt(x, y)))
}

func (c chart) draw() *canvas {
	l := c.layout()
	cv := &canvas{RGBA: image.NewRGBA(image.Rect(0, 0, l.w, l.h)), l: l}
	draw.Draw(cv, cv.Bounds(), image.White, image.Point{}, draw.Src)
	title := textMask(c.Title)
	if 2*title.Rect.Dx() <= l.w-20 {
		title = scaledMask(title, 2)
	}
	cv.text(title, max(0, (l.w-title.Rect.Dx())/2), 14, inkColor)
	if err := c.validate(); err != nil {
		msg := textMask(err.Error())
		cv.text(msg, max(0, (l.w-msg.Rect.Dx())/2), l.h/2, inkColor)
		return cv
	}
	c.drawLegend(cv)
	ticks := logTicks(c.valueRange())
	lo, hi := ticks[0], ticks[len(ticks)-1]
	// Grid first and axes last, so bars cover the grid lines but not the axes.
	c.drawGrid(cv, ticks, lo, hi)
	c.drawBars(cv, lo, hi)
	fillRect(cv.RGBA, image.Rect(l.plotL, l.plotT, l.plotL+1, l.plotB+1), axisColor)
	fillRect(cv.RGBA, image.Rect(l.plotL, l.plotB, l.plotR, l.plotB+1), axisColor)
	return cv
}

// validate reports what makes c impossible to draw, phrased as what to change.
func (c chart) validate() error {
	switch {
	case len(c.Groups) == 0:
		return fmt.Errorf("chart %q has no groups of bars: add at least one (a model, or a model at a weight type)", c.Title)
	case len(c.Series) == 0:
		return fmt.Errorf("chart %q has no series: add at least one configuration", c.Title)
	case len(c.Series) > len(seriesColors):
		return fmt.Errorf("chart %q has %d series but only %d colours: split it into several charts",
			c.Title, len(c.Series), len(seriesColors))
	}
	if c.Sections != nil && len(c.Sections) != len(c.Groups) {
		return fmt.Errorf("chart %q has %d section labels for %d groups: give one per group, or none", c.Title, len(c.Sections), len(c.Groups))
	}
	measured := false
	for _, s := range c.Series {
		if len(s.Values) != len(c.Groups) {
			return fmt.Errorf("chart %q: series %q has %d values for %d groups: give one per group (NaN when not measured)",
				c.Title, s.Name, len(s.Values), len(c.Groups))
		}
		for i, v := range s.Values {
			if v < 0 || math.IsInf(v, 0) {
				return fmt.Errorf("chart %q: series %q, group %s: %g cannot go on a log axis: use a positive value, or NaN when not measured",
					c.Title, s.Name, c.Groups[i], v)
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
func (l layout) yOf(v, lo, hi float64) int {
	f := math.Log10(v/lo) / math.Log10(hi/lo)
	return l.plotB - int(math.Round(f*float64(l.plotB-l.plotT)))
}

// sigFigs prints v with 3 significant digits ("87.3", "0.76") but never in exponent form.
func sigFigs(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// Legend entries: a swatch, a gap, the name, then the spacing before the next entry.
const swatch, swatchGap, legendSpacing, legendY, legendRowH = 14, 6, 28, 50, 20

// legendEntryW is the width of a legend entry named name, without the spacing after it.
func legendEntryW(name string) int { return swatch + swatchGap + len(name)*glyphW }

// legendRows splits the series into rows of legend entries that fit a canvas w wide.
func (c chart) legendRows(w int) [][]int {
	var rows [][]int
	width := 0
	for i, s := range c.Series {
		entry := legendEntryW(s.Name)
		if len(rows) == 0 || width+legendSpacing+entry > w-40 {
			rows, width = append(rows, nil), -legendSpacing
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], i)
		width += legendSpacing + entry
	}
	return rows
}

// drawLegend puts one swatch and name per series in centred rows under the title.
func (c chart) drawLegend(cv *canvas) {
	for r, row := range c.legendRows(cv.l.w) {
		width := -legendSpacing
		for _, i := range row {
			width += legendEntryW(c.Series[i].Name) + legendSpacing
		}
		x, y := max(0, (cv.l.w-width)/2), legendY+r*legendRowH
		for _, i := range row {
			fillRect(cv.RGBA, image.Rect(x, y, x+swatch, y+swatch), seriesColors[i])
			name := textMask(c.Series[i].Name)
			cv.text(name, x+swatch+swatchGap, y+1, inkColor)
			x += swatch + swatchGap + name.Rect.Dx() + legendSpacing
		}
	}
}

// drawGrid draws a light line and a label at every tick, and the rotated y-axis label.
func (c chart) drawGrid(cv *canvas, ticks []float64, lo, hi float64) {
	l := cv.l
	for _, t := range ticks {
		y := l.yOf(t, lo, hi)
		fillRect(cv.RGBA, image.Rect(l.plotL+1, y, l.plotR, y+1), gridColor)
		fillRect(cv.RGBA, image.Rect(l.plotL-5, y, l.plotL, y+1), axisColor)
		label := textMask(sigFigs(t))
		cv.text(label, l.plotL-9-label.Rect.Dx(), y-7, inkColor)
	}
	ylabel := rotatedMask(textMask(c.YLabel))
	cv.text(ylabel, 14, (l.plotT+l.plotB-ylabel.Rect.Dy())/2, inkColor)
}

// drawBars draws each group of bars with its values on top and its label underneath, and
// the sections' labels under those. A value wider than its bar is written upright.
func (c chart) drawBars(cv *canvas, lo, hi float64) {
	l := cv.l
	for i, group := range c.Groups {
		left := l.plotL + i*l.groupW + (l.groupW-l.barW*len(c.Series))/2
		name := textMask(group)
		cv.text(name, l.plotL+i*l.groupW+(l.groupW-name.Rect.Dx())/2, l.plotB+12, inkColor)
		for j, s := range c.Series {
			x := left + j*l.barW
			v := s.Values[i]
			if !(v > 0) { // NaN or 0: not measured, so say so instead of drawing a bar
				var note *image.Alpha
				for _, text := range []string{"skipped", "n/a", "-"} { // the longest that fits the bar
					if note = textMask(text); note.Rect.Dx() <= l.barW {
						break
					}
				}
				cv.text(note, x+(l.barW-note.Rect.Dx())/2, l.plotB-16, mutedColor)
				continue
			}
			top := l.yOf(v, lo, hi)
			// A 1-pixel white gap on each side keeps neighbouring bars apart.
			fillRect(cv.RGBA, image.Rect(x+1, top, x+l.barW-1, l.plotB), seriesColors[j])
			label := textMask(sigFigs(v))
			if label.Rect.Dx() <= l.barW {
				cv.text(label, x+(l.barW-label.Rect.Dx())/2, top-15, inkColor)
			} else {
				label = rotatedMask(label)
				cv.text(label, x+(l.barW-label.Rect.Dx())/2, top-3-label.Rect.Dy(), inkColor)
			}
		}
	}
	// Sections: one label under each run of equal entries, and a tick between runs.
	for first := 0; first < len(c.Sections); {
		last := first
		for last+1 < len(c.Sections) && c.Sections[last+1] == c.Sections[first] {
			last++
		}
		x0, x1 := l.plotL+first*l.groupW, l.plotL+(last+1)*l.groupW
		name := textMask(c.Sections[first])
		cv.text(name, (x0+x1-name.Rect.Dx())/2, l.plotB+32, inkColor)
		if first > 0 {
			fillRect(cv.RGBA, image.Rect(x0, l.plotB, x0+1, l.plotB+48), axisColor)
		}
		first = last + 1
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
