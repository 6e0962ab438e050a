import Foundation

/// A small chart as inline SVG: axes with units and ticks, series drawn as points,
/// lines or bars, dashed markers. Every data point carries its values in
/// `data-series`, `data-x` and `data-y`, so a test can compare the picture with the
/// JSON it came from.
struct SVGChart {
    enum Style { case points, line, bars }

    struct Series {
        var name: String
        var color: String
        var style: Style
        var points: [(x: Double, y: Double)]
    }

    struct Marker {
        var x: Double
        var label: String
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var markers: [Marker] = []
    /// Tick labels: a value on the axis to its text.
    var xFormat: (Double) -> String = { SVGChart.plain($0) }
    var yFormat: (Double) -> String = { SVGChart.plain($0) }
    /// Whole numbers only on the x axis (runs, pairs).
    var integerX = false
    var width = 760.0
    var height = 300.0

    private let left = 100.0, right = 40.0, top = 52.0, bottom = 52.0

    func render() -> String {
        // Only finite points can be placed; the inputs are checked before they get here.
        let series = series.map { s in
            var s = s
            s.points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            return s
        }
        let markers = markers.filter(\.x.isFinite)
        let xs = series.flatMap { $0.points.map(\.x) } + markers.map(\.x)
        let ys = series.flatMap { $0.points.map(\.y) }
        var xMin = xs.min() ?? 0, xMax = xs.max() ?? 1
        if series.contains(where: { $0.style == .bars }) || integerX {
            xMin -= 0.5
            xMax += 0.5
        }
        if xMax <= xMin { xMax = xMin + 1 }
        let yMax = Self.niceCeiling(max(ys.max() ?? 1, 1e-12))
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
        func py(_ y: Double) -> Double { top + plotH - y / yMax * plotH }

        var svg = """
            <svg width="\(Self.n(width))" height="\(Self.n(height))" \
            viewBox="0 0 \(Self.n(width)) \(Self.n(height))" role="img" aria-label="\(Self.escape(title))" font-family="sans-serif" font-size="12">
            <text x="\(Self.n(left))" y="20" font-size="14" font-weight="bold">\(Self.escape(title))</text>

            """
        // Grid and y ticks: five steps from zero.
        for step in 0...5 {
            let value = yMax * Double(step) / 5
            let y = py(value)
            svg += "<line x1=\"\(Self.n(left))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(width - right))\" y2=\"\(Self.n(y))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(Self.n(left - 6))\" y=\"\(Self.n(y + 4))\" text-anchor=\"end\">\(Self.escape(yFormat(value)))</text>\n"
        }
        // x ticks: whole numbers when asked, else six even steps.
        let ticks: [Double] =
            integerX
            ? Array(stride(from: (xMin + 0.5).rounded(), through: xMax - 0.5, by: max(1, ((xMax - xMin) / 12).rounded(.up))))
            : (0...5).map { xMin + (xMax - xMin) * Double($0) / 5 }
        for value in ticks {
            svg +=
                "<text x=\"\(Self.n(px(value)))\" y=\"\(Self.n(height - bottom + 16))\" text-anchor=\"middle\">\(Self.escape(xFormat(value)))</text>\n"
        }
        svg +=
            "<line x1=\"\(Self.n(left))\" y1=\"\(Self.n(top + plotH))\" x2=\"\(Self.n(width - right))\" y2=\"\(Self.n(top + plotH))\" stroke=\"#333\"/>"
        svg += "<line x1=\"\(Self.n(left))\" y1=\"\(Self.n(top))\" x2=\"\(Self.n(left))\" y2=\"\(Self.n(top + plotH))\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(Self.n(left + plotW / 2))\" y=\"\(Self.n(height - 12))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(14 \(Self.n(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"

        for marker in markers {
            let x = px(marker.x)
            svg +=
                "<line class=\"marker\" x1=\"\(Self.n(x))\" y1=\"\(Self.n(top))\" x2=\"\(Self.n(x))\" y2=\"\(Self.n(top + plotH))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>"
            svg += "<text x=\"\(Self.n(x + 3))\" y=\"\(Self.n(top + 10))\" fill=\"#555\">\(Self.escape(marker.label))</text>\n"
        }

        let barSeries = series.filter { $0.style == .bars }
        let pointSeries = series.filter { $0.style == .points }
        let slot = plotW / (xMax - xMin) * 0.8
        var legendX = left
        for s in series {
            let name = Self.escape(s.name)
            if s.style == .line, s.points.count > 1 {
                let path = s.points.map { "\(Self.n(px($0.x))),\(Self.n(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            }
            for point in s.points {
                let data = "data-series=\"\(name)\" data-x=\"\(point.x)\" data-y=\"\(point.y)\""
                switch s.style {
                case .bars:
                    let barIndex = barSeries.firstIndex { $0.name == s.name } ?? 0
                    let w = slot / Double(max(1, barSeries.count))
                    let x = px(point.x) - slot / 2 + w * Double(barIndex)
                    svg += "<rect class=\"point\" \(data) x=\"\(Self.n(x))\" y=\"\(Self.n(py(point.y)))\" width=\"\(Self.n(w * 0.9))\" "
                    svg += "height=\"\(Self.n(max(0, top + plotH - py(point.y))))\" fill=\"\(s.color)\"/>\n"
                case .points, .line:
                    // Side by side when several point series share whole-number x
                    // (A and B of one pair), so equal values stay visible.
                    var x = px(point.x)
                    if integerX, s.style == .points, pointSeries.count > 1, let k = pointSeries.firstIndex(where: { $0.name == s.name }) {
                        x += (Double(k) - Double(pointSeries.count - 1) / 2) * min(14, slot / Double(pointSeries.count))
                    }
                    svg += "<circle class=\"point\" \(data) cx=\"\(Self.n(x))\" cy=\"\(Self.n(py(point.y)))\" r=\"4\" fill=\"\(s.color)\"/>\n"
                }
            }
            // Legend: one row under the title, outside the plot.
            svg += "<rect x=\"\(Self.n(legendX))\" y=\"31\" width=\"10\" height=\"10\" fill=\"\(s.color)\"/>"
            svg += "<text x=\"\(Self.n(legendX + 14))\" y=\"40\">\(name)</text>\n"
            legendX += 14 + 7 * Double(s.name.count) + 18
        }
        return svg + "</svg>\n"
    }

    /// 1, 2 or 5 times a power of ten, at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        let magnitude = pow(10, (log10(value)).rounded(.down))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= value * (1 - 1e-9) { return factor * magnitude }
        return 10 * magnitude
    }

    static func plain(_ value: Double) -> String {
        abs(value) < 1e15 && value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }

    static func n(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
